package invoicing_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

func policy(e *billingtest.Env, number string, provider int64) invoicing.PolicyRequest {
	return invoicing.PolicyRequest{InsuranceProviderID: &provider, ProviderName: "Bảo Việt", PolicyNumber: number,
		MemberID: "M-" + number, ValidFrom: "2026-01-01", ValidTo: "2027-12-31"}
}

func TestPolicies(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	me := e.As(e.Patient1)
	p, err := e.Svc.AddPolicy(me, e.Patient1, policy(e, "BV-1", e.Provider1))
	if err != nil || !p.IsActive || string(p.CoverageDetailsJSON) != "{}" {
		t.Fatalf("add: %v %+v", err, p)
	}
	if _, err := e.Svc.AddPolicy(me, e.Patient1, policy(e, "BV-1", e.Provider1)); status(err) != http.StatusBadRequest {
		t.Fatalf("duplicate policy number: %v", err)
	}
	bad := policy(e, "BV-2", e.Provider1)
	bad.ValidTo = "2025-12-31"
	if _, err := e.Svc.AddPolicy(me, e.Patient1, bad); status(err) != http.StatusBadRequest {
		t.Fatalf("valid_to before valid_from: %v", err)
	}
	if _, err := e.Svc.AddPolicy(me, e.Patient1, policy(e, "BV-3", e.Doctor)); status(err) != http.StatusBadRequest {
		t.Fatalf("provider who is a doctor: %v", err)
	}
	if _, err := e.Svc.AddPolicy(e.As(e.Patient2), e.Patient1, policy(e, "BV-4", e.Provider1)); status(err) != http.StatusForbidden {
		t.Fatalf("another patient's policies: %v", err)
	}
	if _, err := e.Svc.AddPolicy(e.As(e.Admin), e.Patient2, policy(e, "BV-5", e.Provider2)); err != nil {
		t.Fatalf("admin adds: %v", err)
	}
	list, n, err := e.Svc.Policies(me, e.Patient1, invoicing.Page{Limit: 10})
	if err != nil || n != 1 || list[0].PolicyNumber != "BV-1" {
		t.Fatalf("list: %v %d %+v", err, n, list)
	}
}

// A claim from submission to the insurer's partial payout, the invoice
// following each step; illegal moves are 409, other providers 403.
func TestClaimLifecycle(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	me, admin := e.As(e.Patient1), e.As(e.Admin)
	prov, other := e.As(e.Provider1), e.As(e.Provider2)
	inv := invoiceFor(t, e, 10, "1000000.00")
	pol, err := e.Svc.AddPolicy(me, e.Patient1, policy(e, "BV-10", e.Provider1))
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := e.Svc.AddPolicy(e.As(e.Patient2), e.Patient2, policy(e, "BV-11", e.Provider1))
	if _, err := e.Svc.CreateClaim(me, inv.ID, invoicing.ClaimRequest{InsurancePolicyID: theirs.ID, ClaimAmount: "1000"}); status(err) != http.StatusBadRequest {
		t.Fatalf("someone else's policy: %v", err)
	}
	if _, err := e.Svc.CreateClaim(me, inv.ID, invoicing.ClaimRequest{InsurancePolicyID: pol.ID, ClaimAmount: "1000001"}); status(err) != http.StatusConflict {
		t.Fatalf("more than due: %v", err)
	}
	cl, err := e.Svc.CreateClaim(me, inv.ID, invoicing.ClaimRequest{InsurancePolicyID: pol.ID, ClaimAmount: "800000", HospitalNotes: "Khám và xét nghiệm"})
	if err != nil || cl.Status != invoicing.ClaimSubmitted {
		t.Fatalf("claim: %v %+v", err, cl)
	}
	if _, err := e.Svc.CreateClaim(me, inv.ID, invoicing.ClaimRequest{InsurancePolicyID: pol.ID, ClaimAmount: "1000"}); status(err) != http.StatusConflict {
		t.Fatalf("second open claim: %v", err)
	}
	got, _ := e.Svc.Invoice(me, inv.ID)
	if got.Status != invoicing.StatusPendingInsurance {
		t.Fatalf("invoice with a claim: %s", got.Status)
	}
	// The patient may pay only their part while the claim is open.
	if _, err := e.Svc.Pay(me, inv.ID, "p1", pay("200001", "tok_visa")); status(err) != http.StatusConflict {
		t.Fatalf("paying into the claimed part: %v", err)
	}
	pending, n, _ := e.Svc.ProviderPendingClaims(prov, invoicing.Page{Limit: 10})
	if n != 1 || pending[0].ID != cl.ID || pending[0].InvoiceNumber != inv.InvoiceNumber {
		t.Fatalf("provider's pending: %d %+v", n, pending)
	}
	if _, n, _ := e.Svc.ProviderPendingClaims(other, invoicing.Page{Limit: 10}); n != 0 {
		t.Fatalf("other provider sees %d claims", n)
	}
	if _, err := e.Svc.Invoice(prov, inv.ID); err != nil {
		t.Fatalf("provider reads the claimed invoice: %v", err)
	}
	if _, err := e.Svc.Invoice(other, inv.ID); status(err) != http.StatusForbidden {
		t.Fatalf("other provider reads it: %v", err)
	}
	move := func(ctx context.Context, to string, approved *string, asProvider bool) (invoicing.InsuranceClaim, error) {
		return e.Svc.UpdateClaim(ctx, cl.ID, invoicing.ClaimUpdate{Status: to, ApprovedAmount: approved}, asProvider)
	}
	if _, err := move(other, invoicing.ClaimProcessing, nil, true); status(err) != http.StatusForbidden {
		t.Fatalf("other provider processes: %v", err)
	}
	if _, err := move(prov, invoicing.ClaimApproved, nil, true); status(err) != http.StatusConflict {
		t.Fatalf("approve before processing: %v", err)
	}
	if _, err := move(prov, invoicing.ClaimClosed, nil, true); status(err) != http.StatusConflict {
		t.Fatalf("provider closes: %v", err)
	}
	if _, err := move(prov, invoicing.ClaimProcessing, nil, true); err != nil {
		t.Fatal(err)
	}
	half := "500000.00"
	bad := "900000.00"
	if _, err := move(prov, invoicing.ClaimPartiallyApproved, &bad, true); status(err) != http.StatusBadRequest {
		t.Fatalf("approving more than claimed: %v", err)
	}
	dec, err := move(prov, invoicing.ClaimPartiallyApproved, &half, true)
	if err != nil || dec.ApprovedAmount.String() != "500000.00" || dec.RejectedAmount.String() != "300000.00" {
		t.Fatalf("partial approval: %v %+v", err, dec)
	}
	// The rejected part is the patient's again: 500000 payable now.
	if _, err := e.Svc.Pay(me, inv.ID, "p2", pay("500000", "tok_visa")); err != nil {
		t.Fatalf("patient pays their part: %v", err)
	}
	paid, err := move(prov, invoicing.ClaimPaidByInsurer, nil, true)
	if err != nil || paid.Status != invoicing.ClaimPaidByInsurer {
		t.Fatalf("payout: %v", err)
	}
	got, _ = e.Svc.Invoice(me, inv.ID)
	if got.Status != invoicing.StatusPaid || got.AmountPaidByInsurance.String() != "500000.00" || got.AmountPaidByPatient.String() != "500000.00" {
		t.Fatalf("invoice after payout: %+v", got)
	}
	if _, err := move(admin, invoicing.ClaimClosed, nil, false); err != nil {
		t.Fatalf("admin closes: %v", err)
	}
	if _, err := move(admin, invoicing.ClaimProcessing, nil, false); status(err) != http.StatusConflict {
		t.Fatalf("reopening a closed claim: %v", err)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'claim-status-updated:%'`); n != 5 {
		t.Fatalf("claim notifications: %d, want 5 (submitted, processing, partial, paid, closed)", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM payments WHERE payment_method = 'INSURANCE_PAYOUT' AND amount = 500000`); n != 1 {
		t.Fatalf("payout payments: %d", n)
	}
}

func TestOverdueAndAdminChanges(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	admin := e.As(e.Admin)
	a := invoiceFor(t, e, 20, "100000.00")
	b := invoiceFor(t, e, 21, "100000.00")
	if _, err := e.Svc.Pay(e.As(e.Patient1), b.ID, "b1", pay("40000", "tok_visa")); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(31 * 24 * time.Hour)
	n, err := e.Svc.MarkOverdue(e.As(e.Admin))
	if err != nil || n != 2 {
		t.Fatalf("overdue: %d %v", n, err)
	}
	if again, _ := e.Svc.MarkOverdue(e.As(e.Admin)); again != 0 {
		t.Fatalf("second pass moved %d", again)
	}
	got, _ := e.Svc.Invoice(admin, b.ID)
	if got.Status != invoicing.StatusOverdue {
		t.Fatalf("b: %s", got.Status)
	}
	// A discount needs a reason; a new due date lifts OVERDUE.
	disc := "10000"
	if _, err := e.Svc.UpdateInvoice(admin, a.ID, "", invoicing.AdminInvoiceUpdate{DiscountAmount: &disc}); status(err) != http.StatusBadRequest {
		t.Fatalf("discount without reason: %v", err)
	}
	due := "2027-03-01"
	up, err := e.Svc.UpdateInvoice(admin, a.ID, "", invoicing.AdminInvoiceUpdate{DiscountAmount: &disc, DueDate: &due, Reason: "Hộ nghèo"})
	if err != nil || up.TotalAmount.String() != "90000.00" || up.Status != invoicing.StatusPendingPatient {
		t.Fatalf("discount: %v %+v", err, up)
	}
	wo := invoicing.StatusWrittenOff
	cancel := invoicing.StatusCancelled
	if _, err := e.Svc.UpdateInvoice(admin, b.ID, "", invoicing.AdminInvoiceUpdate{Status: &cancel, Reason: "x"}); status(err) != http.StatusConflict {
		t.Fatalf("cancel with payments: %v", err)
	}
	if up, err := e.Svc.UpdateInvoice(admin, b.ID, "", invoicing.AdminInvoiceUpdate{Status: &wo, Reason: "Không thu được"}); err != nil || up.Status != invoicing.StatusWrittenOff {
		t.Fatalf("write off: %v", err)
	}
	if up, err := e.Svc.UpdateInvoice(admin, a.ID, "", invoicing.AdminInvoiceUpdate{Status: &cancel, Reason: "Tạo nhầm"}); err != nil || up.Status != invoicing.StatusCancelled {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := e.Svc.Pay(e.As(e.Patient1), a.ID, "a1", pay("1", "tok_visa")); status(err) != http.StatusConflict {
		t.Fatalf("paying a cancelled invoice: %v", err)
	}
}

func TestAdminCreatesAndFiltersInvoices(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	admin := e.As(e.Admin)
	inv, err := e.Svc.CreateInvoice(admin, invoicing.CreateInvoiceRequest{PatientID: e.Patient2, TaxAmount: "8000", Discount: "3000",
		Items: []invoicing.ItemRequest{{ItemType: invoicing.ItemOther, Description: "Phòng dịch vụ", Quantity: "2", UnitPrice: "50000"}}})
	if err != nil || inv.SubTotalAmount.String() != "100000.00" || inv.TotalAmount.String() != "105000.00" {
		t.Fatalf("manual invoice: %v %+v", err, inv)
	}
	if _, err := e.Svc.CreateInvoice(admin, invoicing.CreateInvoiceRequest{PatientID: e.Doctor,
		Items: []invoicing.ItemRequest{{ItemType: invoicing.ItemOther, Description: "x", UnitPrice: "1"}}}); status(err) != http.StatusBadRequest {
		t.Fatalf("invoice to a doctor: %v", err)
	}
	invoiceFor(t, e, 30, "150000.00")
	paid := invoiceFor(t, e, 31, "150000.00")
	if _, err := e.Svc.Pay(e.As(e.Patient1), paid.ID, "k", pay("150000", "tok_visa")); err != nil {
		t.Fatal(err)
	}
	list, n, err := e.Svc.AdminInvoices(admin, invoicing.InvoiceFilter{Statuses: []string{invoicing.StatusPendingPatient}, Ordering: "-total_amount"}, invoicing.Page{Limit: 10})
	if err != nil || n != 2 || list[1].ID != inv.ID || list[0].TotalAmount.LessThan(list[1].TotalAmount.Decimal) {
		t.Fatalf("pending, by total desc: %v %d %+v", err, n, list)
	}
	p1 := e.Patient1
	if _, n, _ := e.Svc.AdminInvoices(admin, invoicing.InvoiceFilter{PatientID: &p1}, invoicing.Page{Limit: 10}); n != 2 {
		t.Fatalf("patient 1's: %d", n)
	}
	if _, n, _ := e.Svc.PatientInvoices(e.As(e.Patient2), e.Patient2, invoicing.InvoiceFilter{}, invoicing.Page{Limit: 10}); n != 1 {
		t.Fatalf("patient 2's own: %d", n)
	}
	if _, _, err := e.Svc.PatientInvoices(e.As(e.Patient2), e.Patient1, invoicing.InvoiceFilter{}, invoicing.Page{Limit: 10}); status(err) != http.StatusForbidden {
		t.Fatalf("patient 2 lists patient 1's: %v", err)
	}
}
