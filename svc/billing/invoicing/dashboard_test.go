package invoicing_test

import (
	"context"
	"testing"
	"time"

	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

// The admin dashboard's figures: what is owed, what is overdue, what the
// insurers have yet to decide.
func TestDashboardFigures(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	paid := invoiceFor(t, e, 30, "100000.00")
	part := invoiceFor(t, e, 31, "100000.00")
	invoiceFor(t, e, 32, "50000.00")
	if _, err := e.Svc.Pay(e.As(e.Patient1), paid.ID, "d1", pay("100000", "tok_visa")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.Pay(e.As(e.Patient1), part.ID, "d2", pay("40000", "tok_visa")); err != nil {
		t.Fatal(err)
	}
	pol, err := e.Svc.AddPolicy(e.As(e.Patient1), e.Patient1, policy(e, "DB-1", e.Provider1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.CreateClaim(e.As(e.Admin), part.ID, invoicing.ClaimRequest{InsurancePolicyID: pol.ID, ClaimAmount: "20000"}); err != nil {
		t.Fatal(err)
	}
	f, err := e.Svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.InvoicesOutstanding != 2 || f.OutstandingAmount.String() != "110000.00" || f.InvoicesOverdue != 0 ||
		f.ClaimsPending != 1 || f.ClaimsPendingAmount.String() != "20000.00" {
		t.Errorf("figures %+v", f)
	}
	e.Clock.Advance(31 * 24 * time.Hour)
	if _, err := e.Svc.MarkOverdue(e.As(e.Admin)); err != nil {
		t.Fatal(err)
	}
	f, err = e.Svc.Dashboard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The invoice awaiting its insurer is not overdue (MarkOverdue).
	if f.InvoicesOutstanding != 2 || f.InvoicesOverdue != 1 || f.OverdueAmount.String() != "50000.00" {
		t.Errorf("after the due date: %+v", f)
	}
}
