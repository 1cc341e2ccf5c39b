package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"testing"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

// billingSecret is the billing service's client secret at the user service.
const billingSecret = "e2e-billing-secret"

var billingClients = appointmentClients + ",billing=" + billingSecret

type billingRig struct {
	*appointmentRig
	billing    *testkit.Service
	billingDB  *sql.DB
	billingEnv []string
	begun      int // appointments moved into the past so far
}

// startBillingRig runs the platform, notification and appointment services
// and a stripe-mock, and gets billing ready to start (startBilling), so a
// test can complete appointments before billing exists.
func startBillingRig(t testing.TB) *billingRig {
	t.Helper()
	p := startPlatform(t, billingClients)
	a := &appointmentRig{platform: p, notif: newNotifier(t)}
	a.notifSvc = a.notif.start(t, p)
	a.apptDB, a.apptEnv = openDB(t)
	a.apptEnv = append(a.apptEnv, "SERVICE_SECRET="+appointmentSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"CONSULTATION_FEE=150000", "OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s", "REMINDER_INTERVAL=1h")
	a.appt = testkit.StartService(t, p.consul, "appointment", testkit.Build(t, "hospital/svc/appointment"), a.apptEnv...)
	p.waitNotificationRouted(t)
	p.waitStatus(t, http.MethodGet, "/api/v1/doctors/1/availability/", http.StatusUnauthorized)
	a.admin, _ = p.login(t, adminUser, adminPass)
	r := &billingRig{appointmentRig: a}
	db, env := openDB(t)
	r.billingDB = db
	r.billingEnv = append(env, "SERVICE_SECRET="+billingSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"STRIPE_API_BASE="+testkit.SharedStripeMock(t).URL, "STRIPE_SECRET_KEY=sk_test_e2e", "OUTBOX_POLL_INTERVAL=100ms",
		"OUTBOX_BACKOFF_MAX=1s", "PENDING_PAYMENT_INTERVAL=1s")
	return r
}

// startBilling deploys billing and waits until the gateway routes to it.
func (r *billingRig) startBilling(t testing.TB, extraEnv ...string) {
	t.Helper()
	r.billing = testkit.StartService(t, r.consul, "billing", testkit.Build(t, "hospital/svc/billing"), append(r.billingEnv, extraEnv...)...)
	r.waitStatus(t, http.MethodGet, "/api/v1/admin/invoices/", http.StatusUnauthorized)
}

// openDB makes a fresh database and returns it with its MYSQL_DSN setting.
func openDB(t testing.TB) (*sql.DB, []string) {
	t.Helper()
	dsn := testkit.SharedMariaDB(t).NewDatabase(t)
	db, err := mysqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, []string{"MYSQL_DSN=" + dsn}
}

// waitStatus waits until the gateway answers a request with status (a
// route it does not know yet is a 404).
func (p *platform) waitStatus(t testing.TB, method, path string, status int) {
	t.Helper()
	err := testkit.Until(context.Background(), 30*time.Second, p.gateway.Proc, func(ctx context.Context) error {
		if res := p.do(t, method, path, "", nil, nil); res.status != status {
			return fmt.Errorf("%s %s: %d %s", method, path, res.status, res.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *billingRig) billingCount(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := r.billingDB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// completed books, confirms and completes an appointment days ahead.
func (r *billingRig) completed(t testing.TB, patTok string, docID int64, docTok string, days, hour int) int64 {
	t.Helper()
	a := r.book(t, patTok, docID, clinicSlot(days, hour, 0))
	expect(t, "book", a, http.StatusCreated)
	id := int64(a.body["id"].(float64))
	expect(t, "confirm", r.do(t, http.MethodPut, fmt.Sprintf("/api/v1/appointments/%d/confirm/", id), docTok, nil, nil), http.StatusOK)
	// Its time comes: moved in its database to have begun a while ago (each
	// in its own half hour), as the days passing would.
	r.begun++
	begun := time.Now().UTC().Add(-time.Duration(r.begun) * 30 * time.Minute).Truncate(time.Minute)
	if _, err := r.apptDB.Exec(`UPDATE appointments SET appointment_time = ?, end_time = ?, active_slot = ? WHERE id = ?`,
		begun, begun.Add(30*time.Minute), begun, id); err != nil {
		t.Fatal(err)
	}
	expect(t, "complete", r.do(t, http.MethodPut, fmt.Sprintf("/api/v1/appointments/%d/complete/", id), docTok, nil, nil), http.StatusOK)
	return id
}

// invoiceOf waits for the invoice of an appointment in the patient's list.
func (r *billingRig) invoiceOf(t testing.TB, patID int64, patTok string, apptID int64) map[string]any {
	t.Helper()
	var found map[string]any
	err := testkit.Until(context.Background(), 60*time.Second, r.billing.Proc, func(ctx context.Context) error {
		res := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/invoices/?page_size=100", patID), patTok, nil, nil)
		if res.status != http.StatusOK {
			return fmt.Errorf("invoices: %d %s", res.status, res.raw)
		}
		for _, v := range res.body["results"].([]any) {
			inv := v.(map[string]any)
			if id, ok := inv["related_appointment_id"].(float64); ok && int64(id) == apptID {
				found = inv
				return nil
			}
		}
		return fmt.Errorf("no invoice for appointment %d yet", apptID)
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// Appointments completed before billing existed wait in the appointment
// service's outbox; once billing is deployed each is invoiced exactly
// once, and a redelivery (an answer lost on the way back) changes nothing.
// Then, through the gateway: a partial card payment (Stripe's SDK against
// stripe-mock), the rest in cash by an admin, PAID, the patient's emails;
// and a claim the insurance provider approves in part and pays.
func TestBillingEndToEnd(t *testing.T) {
	r := startBillingRig(t)
	docID, docTok := r.doctor(t, "drbill")
	patID, patTok := r.patient(t, "bill-mai")
	var early []int64
	for i := range 3 {
		early = append(early, r.completed(t, patTok, docID, docTok, 2, 8+i))
	}
	if n := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'billing' AND status = 'PENDING'`); n != 3 {
		t.Fatalf("invoice requests waiting for billing: %d", n)
	}

	r.startBilling(t)
	for _, id := range early {
		inv := r.invoiceOf(t, patID, patTok, id)
		if inv["total_amount"] != "150000.00" || inv["status"] != "PENDING_PATIENT" {
			t.Fatalf("invoice of %d: %v", id, inv)
		}
	}
	delivered := func(n int) func(context.Context) error {
		return func(context.Context) error {
			if got := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'billing' AND status = 'DELIVERED' AND attempts >= ?`, n); got != 3 {
				return fmt.Errorf("%d invoice requests delivered", got)
			}
			return nil
		}
	}
	if err := testkit.Until(context.Background(), 30*time.Second, nil, delivered(1)); err != nil {
		t.Fatal(err)
	}
	// The answers got lost: the appointment service sends them all again.
	lastAttempts := r.apptCount(t, `SELECT MAX(attempts) FROM outbox_messages WHERE target_service = 'billing'`)
	if _, err := r.apptDB.Exec(`UPDATE outbox_messages SET status = 'PENDING', next_attempt_at = UTC_TIMESTAMP(6), attempts = ?
		WHERE target_service = 'billing'`, lastAttempts); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Until(context.Background(), 30*time.Second, nil, delivered(lastAttempts+1)); err != nil {
		t.Fatal(err)
	}
	if n := r.billingCount(t, `SELECT COUNT(*) FROM invoices`); n != 3 {
		t.Fatalf("invoices after redelivery: %d, want 3", n)
	}
	r.waitSent(t, patID, "INVOICE_GENERATED", 3)

	// A fourth appointment, completed with billing up: invoice, partial
	// card payment, the rest in cash, PAID.
	apptID := r.completed(t, patTok, docID, docTok, 3, 9)
	inv := r.invoiceOf(t, patID, patTok, apptID)
	invID := num(inv["id"])
	invPath := fmt.Sprintf("/api/v1/invoices/%d/", invID)
	card := map[string]any{"payment_method": "CREDIT_CARD", "amount": "50000",
		"card_details_if_applicable": map[string]any{"payment_method_token": "tok_visa"}}
	paid := r.do(t, http.MethodPost, invPath+"pay/", patTok, card, map[string]string{"Idempotency-Key": "e2e-card-1"})
	expect(t, "card payment", paid, http.StatusCreated)
	if paid.str("status") != "SUCCESS" || paid.str("transaction_id") == "" {
		t.Fatalf("card payment: %s", paid.raw)
	}
	again := r.do(t, http.MethodPost, invPath+"pay/", patTok, card, map[string]string{"Idempotency-Key": "e2e-card-1"})
	expect(t, "card payment replay", again, http.StatusCreated)
	if num(again.body["id"]) != num(paid.body["id"]) {
		t.Fatalf("replay made another payment: %s", again.raw)
	}
	got := r.do(t, http.MethodGet, invPath, patTok, nil, nil)
	expect(t, "invoice", got, http.StatusOK)
	if got.str("status") != "PARTIALLY_PAID" || got.str("amount_due") != "100000.00" {
		t.Fatalf("after card: %s", got.raw)
	}
	_, otherTok := r.patient(t, "bill-lan")
	expect(t, "other patient reads", r.do(t, http.MethodGet, invPath, otherTok, nil, nil), http.StatusForbidden)
	expect(t, "other patient pays", r.do(t, http.MethodPost, invPath+"pay/", otherTok, card, map[string]string{"Idempotency-Key": "x"}), http.StatusForbidden)
	cash := r.do(t, http.MethodPut, fmt.Sprintf("/api/v1/admin/invoices/%d/", invID), r.admin, map[string]any{
		"payment": map[string]any{"payment_method": "CASH", "amount": "100000.00", "reference": "QUAY-E2E-1"}},
		map[string]string{"Idempotency-Key": "e2e-cash-1"})
	expect(t, "cash payment", cash, http.StatusOK)
	if cash.str("status") != "PAID" {
		t.Fatalf("after cash: %s", cash.raw)
	}
	r.waitSent(t, patID, "INVOICE_GENERATED", 4)
	r.waitSent(t, patID, "PAYMENT_SUCCESSFUL", 2)

	// Insurance: a provider, the patient's policy, a claim, a partial approval, the payout.
	prov := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": "baoviet", "password": staffPass, "email": "claims@baoviet.test", "role_name": "INSURANCE_PROVIDER"}, nil)
	expect(t, "create provider", prov, http.StatusCreated)
	provID := num(prov.body["id"])
	provTok, _ := r.login(t, "baoviet", staffPass)
	pol := r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/patients/%d/insurance-policies/", patID), patTok, map[string]any{
		"insurance_provider_id": provID, "provider_name": "Bảo Việt", "policy_number": "BV-E2E-1", "member_id": "M1",
		"valid_from": "2026-01-01", "valid_to": "2030-12-31", "coverage_details_json": map[string]any{"outpatient": "80%"}}, nil)
	expect(t, "add policy", pol, http.StatusCreated)
	claimInv := num(r.invoiceOf(t, patID, patTok, early[0])["id"])
	claim := r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/invoices/%d/claims/", claimInv), patTok, map[string]any{
		"insurance_policy_id": num(pol.body["id"]), "claim_amount": "100000.00", "hospital_notes": "Khám tổng quát"}, nil)
	expect(t, "claim", claim, http.StatusCreated)
	claimID := num(claim.body["id"])
	pending := r.do(t, http.MethodGet, "/api/v1/insurance-provider/claims/pending/", provTok, nil, nil)
	expect(t, "pending claims", pending, http.StatusOK)
	if num(pending.body["count"]) != 1 {
		t.Fatalf("pending: %s", pending.raw)
	}
	process := fmt.Sprintf("/api/v1/insurance-provider/claims/%d/process/", claimID)
	expect(t, "approve unprocessed", r.do(t, http.MethodPut, process, provTok, map[string]any{"status": "APPROVED"}, nil), http.StatusConflict)
	expect(t, "processing", r.do(t, http.MethodPut, process, provTok, map[string]any{"status": "PROCESSING"}, nil), http.StatusOK)
	dec := r.do(t, http.MethodPut, process, provTok, map[string]any{"status": "PARTIALLY_APPROVED", "approved_amount": "60000.00", "insurer_notes": "60%"}, nil)
	expect(t, "partial approval", dec, http.StatusOK)
	if dec.str("rejected_amount") != "40000.00" {
		t.Fatalf("decision: %s", dec.raw)
	}
	expect(t, "payout", r.do(t, http.MethodPut, process, provTok, map[string]any{"status": "PAID_BY_INSURER"}, nil), http.StatusOK)
	after := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/invoices/%d/", claimInv), provTok, nil, nil)
	expect(t, "provider reads the claimed invoice", after, http.StatusOK)
	if after.str("amount_paid_by_insurance") != "60000.00" || after.str("status") != "PARTIALLY_PAID" || after.str("amount_due") != "90000.00" {
		t.Fatalf("invoice after payout: %s", after.raw)
	}
	expect(t, "provider reads another invoice", r.do(t, http.MethodGet, invPath, provTok, nil, nil), http.StatusForbidden)
	r.waitSent(t, patID, "INSURANCE_CLAIM_STATUS_UPDATED", 4)
	// Registration, 4 requested, 4 confirmed, 4 invoices, 2 payments, 4 claim updates: each once.
	r.notif.mail.WaitFor(t, "to:bill-mai@patients.test", 19, 60*time.Second)
	if mails, _ := r.notif.mail.Search(context.Background(), "to:bill-mai@patients.test"); len(mails) != 19 {
		t.Fatalf("the patient's emails: %d, want 19", len(mails))
	}
}
