package accounts_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// The answer to a reset request comes before any work on it: it cannot
// take longer, or differ, when the address has an account.
func TestResetWorkHappensAfterTheAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u := f.patient(t, "reset.later")
	resets := func(ctx context.Context) (int, error) {
		var n int
		err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = ?`, u.ID).Scan(&n)
		return n, err
	}
	ctx := context.Background()
	for _, email := range []string{"nobody@example.com", "reset.later@example.com"} {
		if err := f.svc.RequestPasswordReset(ctx, email); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	if n, err := resets(ctx); err != nil || n != 0 {
		t.Fatalf("%d reset links written before the answer (%v)", n, err)
	}
	// The worker (a background job of the service) does it afterwards.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go f.svc.RunResets(wctx)
	err := testkit.Until(ctx, 5*time.Second, nil, func(ctx context.Context) error {
		if n, err := resets(ctx); err != nil || n != 1 {
			return fmt.Errorf("%d links (%v)", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
