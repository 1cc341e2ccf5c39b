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
	port := testkit.MustFreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := testkit.Start(t.TempDir(), "stripe-mock", bin, []string{"-http-addr", addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(5 * time.Second) })
	if err := testkit.Until(context.Background(), 30*time.Second, p, testkit.TCPOpen(addr)); err != nil {
		t.Fatal(err)
	}
	return &StripeMock{URL: fmt.Sprintf("http://%s", addr)}
})

// SharedStripeMock returns the test binary's stripe-mock.
func SharedStripeMock(t testing.TB) *StripeMock { return sharedStripeMock(t) }
