package invoicing

import "context"

// DashboardFigures is what the billing service contributes to the admin
// dashboard (lib/adminapi.DashboardPath("billing")).
type DashboardFigures struct {
	// InvoicesOutstanding counts the issued invoices not yet settled
	// (PENDING_PATIENT, PENDING_INSURANCE, PARTIALLY_PAID, OVERDUE);
	// OutstandingAmount is what remains to be paid on them.
	InvoicesOutstanding int   `json:"invoices_outstanding"`
	OutstandingAmount   Money `json:"outstanding_amount"`
	// InvoicesOverdue and OverdueAmount are those of them OVERDUE.
	InvoicesOverdue int   `json:"invoices_overdue"`
	OverdueAmount   Money `json:"overdue_amount"`
	// ClaimsPending counts the claims the insurer has not decided
	// (SUBMITTED, PROCESSING, AWAITING_DOCUMENTS), for ClaimsPendingAmount.
	ClaimsPending       int   `json:"claims_pending"`
	ClaimsPendingAmount Money `json:"claims_pending_amount"`
}

// Dashboard sums up what is owed and what the insurers have yet to decide.
func (s *Service) Dashboard(ctx context.Context) (DashboardFigures, error) {
	return s.store.Outstanding(ctx)
}
