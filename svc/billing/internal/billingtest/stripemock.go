package billingtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// StripeMock is a stripe-mock server (built by `make tools`, found like the
// other pinned binaries; STRIPE_MOCK_BIN overrides).
type StripeMock struct{ URL string }

// sharedStripeMock is one stripe-mock per test binary.
var sharedStripeMock = testkit.SharedOnce(func(t testing.TB) *StripeMock {
	bin := os.Getenv("STRIPE_MOCK_BIN")
	if bin == "" {
		var err error
		if bin, err = testkit.Binary("stripe-mock"); err != nil {
			t.Fatal(err)
		}
	}
	// A free port can be taken before stripe-mock binds it: try another.
	var addr string
	for attempt := 0; ; attempt++ {
		addr = "127.0.0.1:" + strconv.Itoa(testkit.MustFreePort(t))
		p, err := testkit.Start(t.TempDir(), "stripe-mock", bin, []string{"-http-addr", addr}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
		err = testkit.Until(context.Background(), 30*time.Second, p, testkit.TCPOpen(addr))
		if err == nil {
			break
		}
		if !p.Exited() || attempt == 2 {
			t.Fatal(err)
		}
	}
	return &StripeMock{URL: fmt.Sprintf("http://%s", addr)}
})

// SharedStripeMock returns the test binary's stripe-mock.
func SharedStripeMock(t testing.TB) *StripeMock { return sharedStripeMock(t) }
