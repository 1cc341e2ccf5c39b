package invoicing_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

func pay(amount, token string) invoicing.PayRequest {
	return invoicing.PayRequest{PaymentMethod: invoicing.MethodCreditCard, Amount: amount,
		CardDetails: &invoicing.CardDetails{PaymentMethodToken: token}}
}

func TestPartialCardPaymentThenCashPaysTheInvoice(t *testing.T) {
	card := billingtest.NewCard()
	e := billingtest.NewEnv(t, card)
	inv := invoiceFor(t, e, 1, "150000.00")
	me := e.As(e.Patient1)

	res, err := e.Svc.Pay(me, inv.ID, "pay-1", pay("50000", "tok_visa"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusCreated || res.Value.Status != invoicing.PaymentSuccess || res.Value.TransactionID == nil {
		t.Fatalf("card payment: %d %+v", res.Status, res.Value)
	}
	got, _ := e.Svc.Invoice(me, inv.ID)
	if got.Status != invoicing.StatusPartiallyPaid || got.AmountPaidByPatient.String() != "50000.00" || got.AmountDue.String() != "100000.00" {
		t.Fatalf("after card: %+v", got)
	}
	// A replay answers the first payment and charges nothing more.
	again, err := e.Svc.Pay(me, inv.ID, "pay-1", pay("50000", "tok_visa"))
	if err != nil || again.Value.ID != res.Value.ID || card.Charged() != 1 {
		t.Fatalf("replay: %v %+v, %d charges", err, again.Value, card.Charged())
	}
	// More than is due is refused and changes nothing.
	if _, err := e.Svc.Pay(me, inv.ID, "pay-2", pay("100001", "tok_visa")); status(err) != http.StatusConflict {
		t.Fatalf("overpay: %v", err)
	}
	// The rest in cash, recorded by an admin.
	admin := e.As(e.Admin)
	up := invoicing.AdminInvoiceUpdate{Payment: &invoicing.ManualPayment{PaymentMethod: invoicing.MethodCash, Amount: "100000.00", Reference: "QUAY-2026-0001"}}
	if _, err := e.Svc.UpdateInvoice(admin, inv.ID, "", up); status(err) != http.StatusBadRequest {
		t.Fatalf("cash without a key: %v", err)
	}
	paid, err := e.Svc.UpdateInvoice(admin, inv.ID, "cash-1", up)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != invoicing.StatusPaid || paid.AmountDue.String() != "0.00" || len(paid.Payments) != 2 {
		t.Fatalf("after cash: %+v", paid)
	}
	if replay, err := e.Svc.UpdateInvoice(admin, inv.ID, "cash-1", up); err != nil || replay.Status != invoicing.StatusPaid {
		t.Fatalf("cash replay: %v", err)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM payments WHERE invoice_id = ? AND status = 'SUCCESS'`, inv.ID); n != 2 {
		t.Fatalf("payments: %d", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'payment-successful:%'`); n != 2 {
		t.Fatalf("PAYMENT_SUCCESSFUL messages: %d", n)
	}
	if _, err := e.Svc.Pay(me, inv.ID, "pay-3", pay("1", "tok_visa")); status(err) != http.StatusConflict {
		t.Fatalf("paying a paid invoice: %v", err)
	}
	// Refund the card payment: the invoice is open again, for that amount.
	ref, err := e.Svc.UpdateInvoice(admin, inv.ID, "refund-1", invoicing.AdminInvoiceUpdate{Refund: &invoicing.RefundRequest{PaymentID: res.Value.ID}, Reason: "Double charge at the counter"})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Status != invoicing.StatusPartiallyPaid || ref.AmountPaidByPatient.String() != "100000.00" {
		t.Fatalf("after refund: %+v", ref)
	}
	if _, err := e.Svc.UpdateInvoice(admin, inv.ID, "refund-2", invoicing.AdminInvoiceUpdate{Refund: &invoicing.RefundRequest{PaymentID: res.Value.ID}, Reason: "again"}); status(err) != http.StatusConflict {
		t.Fatalf("refunding twice: %v", err)
	}
}

func TestDeclinedCardRecordsFailedAndLeavesTheInvoice(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	inv := invoiceFor(t, e, 2, "150000.00")
	me := e.As(e.Patient1)
	_, err := e.Svc.Pay(me, inv.ID, "declined-1", pay("150000", "tok_chargeDeclined"))
	if status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("declined: %v", err)
	}
	// The replay is declined the same way, without a second attempt.
	if _, err := e.Svc.Pay(me, inv.ID, "declined-1", pay("150000", "tok_chargeDeclined")); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("declined replay: %v", err)
	}
	got, _ := e.Svc.Invoice(me, inv.ID)
	if got.Status != invoicing.StatusPendingPatient || !got.AmountPaidByPatient.IsZero() || len(got.Payments) != 1 || got.Payments[0].Status != invoicing.PaymentFailed {
		t.Fatalf("after decline: %+v", got)
	}
	// The whole amount can still be paid.
	if _, err := e.Svc.Pay(me, inv.ID, "ok-1", pay("150000", "tok_visa")); err != nil {
		t.Fatal(err)
	}
	// Someone else's invoice is not payable by me.
	other := e.As(e.Patient2)
	if _, err := e.Svc.Pay(other, inv.ID, "x", pay("1", "tok_visa")); status(err) != http.StatusForbidden {
		t.Fatalf("other patient pays: %v", err)
	}
}

// Ten concurrent payments of the whole outstanding amount: one payment.
func TestConcurrentPaymentsOfTheOutstandingAmount(t *testing.T) {
	card := billingtest.NewCard()
	e := billingtest.NewEnv(t, card)
	inv := invoiceFor(t, e, 3, "150000.00")
	me := e.As(e.Patient1)
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := e.Svc.Pay(me, inv.ID, "race-"+itoa(int64(i)), pay("150000.00", "tok_visa"))
			statuses[i] = res.Status
			if err != nil {
				statuses[i] = status(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != n-1 {
		t.Fatalf("answers: %v", count)
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM payments WHERE invoice_id = ?`, inv.ID); got != 1 || card.Charged() != 1 {
		t.Fatalf("payments %d, charges %d", got, card.Charged())
	}
}

// A charge whose outcome is unknown stays PENDING (holding its amount) and
// is settled later with the same gateway key.
func TestUnknownChargeOutcomeIsSettledLater(t *testing.T) {
	card := billingtest.NewCard()
	e := billingtest.NewEnv(t, card)
	inv := invoiceFor(t, e, 4, "100000.00")
	me := e.As(e.Patient1)
	if _, err := e.Svc.Pay(me, inv.ID, "slow-1", pay("100000", "tok_timeout")); status(err) != http.StatusServiceUnavailable {
		t.Fatalf("unknown outcome: %v", err)
	}
	if _, err := e.Svc.Pay(me, inv.ID, "other", pay("1", "tok_visa")); status(err) != http.StatusConflict {
		t.Fatalf("the pending amount is not held: %v", err)
	}
	if _, err := e.Svc.Pay(me, inv.ID, "slow-1", pay("100000", "tok_timeout")); status(err) != http.StatusConflict {
		t.Fatalf("replay while pending: %v", err)
	}
	card.Settle()
	e.Clock.Advance(5 * time.Minute)
	n, err := e.Svc.SettlePending(context.Background(), 2*time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("settled %d: %v", n, err)
	}
	res, err := e.Svc.Pay(me, inv.ID, "slow-1", pay("100000", "tok_timeout"))
	if err != nil || res.Value.Status != invoicing.PaymentSuccess {
		t.Fatalf("replay after settling: %v %+v", err, res.Value)
	}
	got, _ := e.Svc.Invoice(me, inv.ID)
	if got.Status != invoicing.StatusPaid {
		t.Fatalf("invoice: %+v", got)
	}
	if e.Count(t, `SELECT COUNT(*) FROM payments WHERE gateway_token IS NOT NULL`) != 0 {
		t.Fatal("a settled payment kept its gateway token")
	}
}

// Payments on many invoices at once all go through: paying one invoice
// locks nothing another payment needs (share-locking reads of the payments
// index used to make neighbouring invoices' payments deadlock).
func TestConcurrentPaymentsOnDifferentInvoices(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	const invoices, each = 24, 25
	ids := make([]int64, invoices)
	for i := range ids {
		ids[i] = invoiceFor(t, e, int64(500+i), "150000.00").ID
	}
	me := e.As(e.Patient1)
	errs := make([]error, invoices)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range invoices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range each {
				if _, err := e.Svc.Pay(me, ids[(i+k)%invoices], "spread-"+itoa(int64(i*each+k)), pay("1000", "tok_visa")); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM payments WHERE status = 'SUCCESS'`); n != invoices*each {
		t.Fatalf("payments: %d", n)
	}
}
