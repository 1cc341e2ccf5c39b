package testkit

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// StripeTestKey is the secret key stripe-mock accepts (any well-formed test
// key does; this is the one Stripe's documentation uses).
const StripeTestKey = "sk_test_123"

// StripeMock is Stripe's official mock of its API (stripe-mock), shared by
// the tests of one package. It is stateless: it checks each request against
// Stripe's OpenAPI document and answers with fixtures, so tests may share it.
type StripeMock struct {
	// URL is the API base to point a Stripe client at, e.g. the backend URL
	// of stripe-go: http://127.0.0.1:<port>
	URL  string
	Port int
	dir  string
	proc *Proc
}

var (
	stripeOnce sync.Once
	stripeMock *StripeMock
	stripeErr  error
)

// SharedStripeMock starts (once per test binary) stripe-mock on a free
// loopback port; Main stops it. Authenticate with StripeTestKey.
func SharedStripeMock(t testing.TB) *StripeMock {
	t.Helper()
	stripeOnce.Do(func() {
		stripeMock, stripeErr = retryStart(3, startStripeMock)
		if stripeErr == nil {
			atExit(stripeMock.stop)
		}
	})
	if stripeErr != nil {
		t.Fatalf("stripe-mock: %v", stripeErr)
	}
	return stripeMock
}

func startStripeMock() (*StripeMock, error) {
	bin, err := Binary("stripe-mock")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("stripemock")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// stripe-mock also serves HTTPS, on port 12112 of every interface unless
	// told otherwise: a socket in its own directory keeps it off the network.
	proc, err := Start(dir, "stripe-mock", bin, []string{
		"-http-addr", "127.0.0.1:" + strconv.Itoa(port),
		"-https-unix", filepath.Join(dir, "https.sock"),
	}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &StripeMock{URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, dir: dir, proc: proc}
	// Ready once it has loaded Stripe's OpenAPI document and answers a call.
	if err := Until(context.Background(), 30*time.Second, proc, s.answers); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// answers is a condition for Until: an authenticated list call is a 200.
func (s *StripeMock) answers(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/v1/customers", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+StripeTestKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/v1/customers: %d", s.URL, resp.StatusCode)
	}
	return nil
}

func (s *StripeMock) stop() {
	_ = s.proc.Stop(10 * time.Second)
	os.RemoveAll(s.dir)
}
