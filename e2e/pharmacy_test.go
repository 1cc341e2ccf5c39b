package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/billingapi"
	"hospital/lib/testkit"
)

// The pharmacy's and the EHR's client secrets at the user service.
const (
	pharmacySecret = "e2e-pharmacy-secret"
)

var pharmacyClients = billingClients + ",pharmacy=" + pharmacySecret + ",ehr=" + ehrSecret

type pharmacyRig struct {
	*platform
	notif      *notifier
	ehr        *testkit.Service
	pharmacy   *testkit.Service
	billing    *testkit.Service
	billingDB  *sql.DB
	billingEnv []string
	admin      string
}

// startPharmacyRig runs the platform, the EHR and the pharmacy (and, with
// notify, the notification service and Mailpit), and gets billing ready to
// start (startBilling), so a test can dispense before billing exists.
func startPharmacyRig(t testing.TB, notify bool, pharmacyEnv ...string) *pharmacyRig {
	t.Helper()
	p := startPlatform(t, pharmacyClients)
	r := &pharmacyRig{platform: p}
	if notify {
		r.notif = newNotifier(t)
		r.notif.start(t, p)
		p.waitNotificationRouted(t)
	}
	f := testkit.SharedFerretDB(t)
	fast := []string{"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s"}
	r.ehr = testkit.StartService(t, p.consul, "ehr", testkit.Build(t, "hospital/svc/ehr"),
		append([]string{"MONGO_URI=" + f.URI, "MONGO_DB=" + f.NewDatabase(t), "SERVICE_SECRET=" + ehrSecret}, fast...)...)
	r.pharmacy = testkit.StartService(t, p.consul, "pharmacy", testkit.Build(t, "hospital/svc/pharmacy"),
		append(append([]string{"MONGO_URI=" + f.URI, "MONGO_DB=" + f.NewDatabase(t), "SERVICE_SECRET=" + pharmacySecret,
			"RECOVERY_INTERVAL=1s"}, fast...), pharmacyEnv...)...)
	p.waitStatus(t, http.MethodGet, "/api/v1/pharmacy/stock/", http.StatusUnauthorized)
	p.waitStatus(t, http.MethodGet, "/api/v1/ehr/patients/1/", http.StatusUnauthorized)
	r.admin, _ = p.login(t, adminUser, adminPass)
	db, env := openDB(t)
	r.billingDB = db
	r.billingEnv = append(env, "SERVICE_SECRET="+billingSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"STRIPE_API_BASE="+testkit.SharedStripeMock(t).URL, "STRIPE_SECRET_KEY=sk_test_e2e", "OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s")
	return r
}

func (r *pharmacyRig) startBilling(t testing.TB) {
	t.Helper()
	r.billing = testkit.StartService(t, r.consul, "billing", testkit.Build(t, "hospital/svc/billing"), r.billingEnv...)
	r.waitStatus(t, http.MethodGet, "/api/v1/admin/invoices/", http.StatusUnauthorized)
}

// staff creates a staff account and returns its id and token.
func (r *pharmacyRig) staff(t testing.TB, username, role string) (int64, string) {
	t.Helper()
	u := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": username, "password": staffPass, "email": username + "@hospital.test", "role_name": role,
		"first_name": "Staff", "last_name": username}, nil)
	expect(t, "create "+role, u, http.StatusCreated)
	tok, _ := r.login(t, username, staffPass)
	return num(u.body["id"]), tok
}

func (r *pharmacyRig) patient(t testing.TB, username string) (int64, string) {
	t.Helper()
	reg := r.register(t, username)
	tok, _ := r.login(t, username, patientPass)
	return num(reg.body["id"]), tok
}

// medication adds a catalog entry and returns its id.
func (r *pharmacyRig) medication(t testing.TB, code, name, generic, price string) string {
	t.Helper()
	m := r.do(t, http.MethodPost, "/api/v1/admin/medications/catalog/", r.admin, map[string]any{
		"medication_code": code, "name": name, "generic_name": generic, "manufacturer": "ABC Pharma",
		"unit_price": price, "dosage_form": "Tablet", "strength": "500mg"}, nil)
	expect(t, "create medication "+code, m, http.StatusCreated)
	return m.str("id")
}

// receive takes a batch into stock (expiring days from today).
func (r *pharmacyRig) receive(t testing.TB, tok, medicationID, batch string, qty, days int) result {
	t.Helper()
	res := r.do(t, http.MethodPut, "/api/v1/pharmacy/stock/"+medicationID+"/", tok, map[string]any{
		"batch_number": batch, "quantity": qty, "expiry_date": time.Now().AddDate(0, 0, days).Format(time.DateOnly)}, nil)
	expect(t, "receive "+batch, res, http.StatusOK)
	return res
}

// prescribe writes a prescription of one item and returns the answer.
func (r *pharmacyRig) prescribe(t testing.TB, docTok string, patientID int64, medicationID string, qty int, extra map[string]any) result {
	t.Helper()
	body := map[string]any{"patient_id": patientID, "notes_for_pharmacist": "Take after meals.", "items": []map[string]any{{
		"medication_id": medicationID, "dosage": "1 tablet", "frequency": "3 times a day", "duration_days": 4,
		"instructions": "After meals", "quantity_prescribed": qty}}}
	for k, v := range extra {
		body[k] = v
	}
	return r.do(t, http.MethodPost, "/api/v1/prescriptions/", docTok, body, nil)
}

func (r *pharmacyRig) stockOf(t testing.TB, tok, medicationID string) map[string]any {
	t.Helper()
	res := r.do(t, http.MethodGet, "/api/v1/pharmacy/stock/?page_size=100", tok, nil, nil)
	expect(t, "stock", res, http.StatusOK)
	for _, x := range res.body["results"].([]any) {
		if s := x.(map[string]any); s["medication_id"] == medicationID {
			return s
		}
	}
	t.Fatalf("no stock of %s: %s", medicationID, res.raw)
	return nil
}

// The whole flow through the gateway with the real services: the doctor's
// prescription is refused for the patient's EHR allergy, then written with an
// override; the EHR gets its reference; the pharmacist verifies and the
// patient is emailed; the dispense takes the earliest batch first and takes
// the stock below its reorder level, which emails both pharmacists once;
// billing, started afterwards, invoices the dispense exactly once, also when
// the request is replayed, and the dispense log shows it billed.
func TestPharmacyFlowThroughGateway(t *testing.T) {
	r := startPharmacyRig(t, true)
	docID, docTok := r.staff(t, "drpharm", "DOCTOR")
	ph1, ph1Tok := r.staff(t, "dsmai", "PHARMACIST")
	ph2, _ := r.staff(t, "dslan", "PHARMACIST")
	patID, patTok := r.patient(t, "rx-mai")
	_, otherTok := r.patient(t, "rx-lan")
	_ = docID

	amox := r.medication(t, "AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500.50")
	r.receive(t, ph1Tok, amox, "B-LATE", 14, 300)
	r.receive(t, ph1Tok, amox, "B-EARLY", 6, 60)
	expect(t, "reorder level", r.do(t, http.MethodPut, "/api/v1/pharmacy/stock/"+amox+"/", ph1Tok, map[string]any{"reorder_level": 10}, nil), http.StatusOK)

	// The EHR knows the patient is allergic to amoxicillin.
	rec := r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), docTok, map[string]any{"allergies": []string{"Amoxicillin", "Peanuts"}}, nil)
	expect(t, "medical record", rec, http.StatusCreated)

	refused := r.prescribe(t, docTok, patID, amox, 12, nil)
	expect(t, "allergic prescription", refused, http.StatusConflict)
	if refused.str("code") != "allergy_conflict" || !bytes.Contains(refused.raw, []byte(`"allergy":"Amoxicillin"`)) {
		t.Fatalf("allergy refusal: %s", refused.raw)
	}
	rx := r.prescribe(t, docTok, patID, amox, 12, map[string]any{"allergy_override_reason": "Tolerated amoxicillin in 2025 under observation"})
	expect(t, "prescription with an override", rx, http.StatusCreated)
	rxID := rx.str("id")
	check := rx.body["allergy_check"].(map[string]any)
	if rx.str("status") != "PENDING_VERIFICATION" || rx.str("patient_name") != "Test Patient" || check["override_reason"] == nil {
		t.Fatalf("prescription: %s", rx.raw)
	}
	// The EHR gets the reference (flow F3), once.
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		rec := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), patTok, nil, nil)
		refs, _ := rec.body["prescription_references"].([]any)
		if len(refs) != 1 || refs[0].(map[string]any)["prescription_id"] != rxID {
			return fmt.Errorf("references: %s", rec.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	expect(t, "dispense before verification", r.do(t, http.MethodPost, "/api/v1/pharmacy/prescriptions/"+rxID+"/dispense/", ph1Tok,
		map[string]any{"items_dispensed": []map[string]any{{"prescription_item_id_ref": itemID(rx), "quantity_dispensed": 1}}}, nil), http.StatusConflict)
	v := r.do(t, http.MethodPut, "/api/v1/pharmacy/prescriptions/"+rxID+"/verify/", ph1Tok, nil, nil)
	expect(t, "verify", v, http.StatusOK)
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=PRESCRIPTION_READY_FOR_PICKUP", patID), "ready for pickup", 60*time.Second, allSent(1))
	r.notif.mail.WaitFor(t, "to:rx-mai@patients.test "+rxID, 1, 30*time.Second) // the email names the prescription

	dispense := func(qty int, key string) result {
		return r.do(t, http.MethodPost, "/api/v1/pharmacy/prescriptions/"+rxID+"/dispense/", ph1Tok,
			map[string]any{"items_dispensed": []map[string]any{{"prescription_item_id_ref": itemID(rx), "quantity_dispensed": qty}}},
			map[string]string{"Idempotency-Key": key})
	}
	short := dispense(21, "rx-e2e-0")
	expect(t, "more than prescribed", short, http.StatusConflict)
	d := dispense(12, "rx-e2e-1")
	expect(t, "dispense", d, http.StatusCreated)
	logID := d.str("id")
	batches := d.body["dispensed_items"].([]any)[0].(map[string]any)["batches"].([]any)
	if len(batches) != 2 || batches[0].(map[string]any)["batch_number"] != "B-EARLY" || num(batches[0].(map[string]any)["quantity"]) != 6 ||
		batches[1].(map[string]any)["batch_number"] != "B-LATE" || num(batches[1].(map[string]any)["quantity"]) != 6 {
		t.Fatalf("FEFO: %s", d.raw)
	}
	again := dispense(12, "rx-e2e-1")
	expect(t, "dispense replayed", again, http.StatusCreated)
	if again.str("id") != logID {
		t.Fatalf("the replay made another dispense: %s", again.raw)
	}
	st := r.stockOf(t, ph1Tok, amox)
	if num(st["quantity_on_hand"]) != 8 || st["is_low_stock"] != true || len(st["expiry_dates"].([]any)) != 1 {
		t.Fatalf("stock after the dispense: %v", st)
	}
	card := r.do(t, http.MethodGet, "/api/v1/pharmacy/stock/"+amox+"/movements/", ph1Tok, nil, nil)
	expect(t, "stock card", card, http.StatusOK)
	if num(card.body["count"]) != 4 || card.body["results"].([]any)[0].(map[string]any)["kind"] != "DISPENSE" {
		t.Fatalf("stock card: %s", card.raw)
	}
	got := r.do(t, http.MethodGet, "/api/v1/prescriptions/"+rxID+"/", patTok, nil, nil)
	expect(t, "the patient reads the prescription", got, http.StatusOK)
	if got.str("status") != "DISPENSED_FULL" || len(got.body["dispense_history"].([]any)) != 1 {
		t.Fatalf("prescription after the dispense: %s", got.raw)
	}
	expect(t, "another patient reads it", r.do(t, http.MethodGet, "/api/v1/prescriptions/"+rxID+"/", otherTok, nil, nil), http.StatusForbidden)

	// Below the reorder level: each pharmacist is emailed, once.
	for _, id := range []int64{ph1, ph2} {
		r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=PHARMACY_STOCK_LOW", id), "stock low", 60*time.Second, allSent(1))
	}
	r.notif.mail.WaitFor(t, "to:dslan@hospital.test Amoxicillin", 1, 30*time.Second)

	// Billing was not running: the invoice request waits, the log says so.
	logPath := "/api/v1/pharmacy/dispense-logs/" + logID + "/"
	if l := r.do(t, http.MethodGet, logPath, ph1Tok, nil, nil); l.str("payment_status") != "PENDING_BILLING" {
		t.Fatalf("dispense log before billing: %s", l.raw)
	}
	r.startBilling(t)
	err = testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		if l := r.do(t, http.MethodGet, logPath, ph1Tok, nil, nil); l.str("payment_status") != "BILLED" {
			return fmt.Errorf("dispense log: %s", l.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	invoices := func() int {
		var n int
		if err := r.billingDB.QueryRow(`SELECT COUNT(*) FROM invoices WHERE related_prescription_dispense_id = ?`, logID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := invoices(); n != 1 {
		t.Fatalf("%d invoices for the dispense", n)
	}
	// The invoice request delivered again (an answer lost on the way back),
	// under its key and under another: still one invoice.
	tok := (&billingRig{appointmentRig: &appointmentRig{platform: r.platform}}).serviceToken(t, "pharmacy", pharmacySecret)
	log := r.do(t, http.MethodGet, logPath, ph1Tok, nil, nil)
	var dl struct {
		PatientID int64 `json:"patient_id"`
		Items     []struct {
			MedicationName    string `json:"medication_name"`
			QuantityDispensed int64  `json:"quantity_dispensed"`
			UnitPrice         string `json:"unit_price"`
			TotalPrice        string `json:"total_price"`
		} `json:"dispensed_items"`
	}
	if err := json.Unmarshal(log.raw, &dl); err != nil {
		t.Fatal(err)
	}
	req := billingapi.InvoiceForMedication{DispenseLogID: logID, PatientID: dl.PatientID}
	for _, it := range dl.Items {
		req.Items = append(req.Items, billingapi.MedicationItem{MedicationName: it.MedicationName, Quantity: it.QuantityDispensed,
			UnitPrice: it.UnitPrice, TotalPrice: it.TotalPrice})
	}
	for key, want := range map[string]int{"dispense-invoice:" + logID: http.StatusCreated, "another-key-" + logID: http.StatusOK} {
		body, _ := json.Marshal(req)
		hr, _ := http.NewRequest(http.MethodPost, r.billing.URL+billingapi.InvoiceForMedicationPath, bytes.NewReader(body))
		hr.Header.Set("Authorization", "Bearer "+tok)
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Idempotency-Key", key)
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("invoice request again under %s: %d, want %d", key, res.StatusCode, want)
		}
	}
	if n := invoices(); n != 1 {
		t.Fatalf("%d invoices for the dispense after replays", n)
	}
	var total string
	if err := r.billingDB.QueryRow(`SELECT total_amount FROM invoices WHERE related_prescription_dispense_id = ?`, logID).Scan(&total); err != nil || total != "30006.00" {
		t.Fatalf("invoice total %q (%v), want 12 × 2500.50", total, err)
	}
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=INVOICE_GENERATED", patID), "invoice email", 60*time.Second, allSent(1))
}

func itemID(rx result) string {
	return rx.body["items"].([]any)[0].(map[string]any)["item_id"].(string)
}

// The fuzz suite's cases (fuzz_cases_test.go) against every pharmacy
// operation, through the gateway, as every role and the pharmacy's own
// service token, with real ids in the paths: no 5xx, no hang, every refusal
// a problem+json. (TestFuzzEveryEndpoint covers the services its rig runs.)
func TestPharmacyFuzz(t *testing.T) {
	r := startPharmacyRig(t, false)
	ctx := context.Background()
	tokens := map[string]string{"anonymous": "", "ADMIN": r.admin}
	for _, role := range []string{"DOCTOR", "NURSE", "PHARMACIST", "LAB_TECHNICIAN", "INSURANCE_PROVIDER"} {
		_, tokens[role] = r.staff(t, "fzrx"+strings.ToLower(strings.ReplaceAll(role, "_", "")), role)
	}
	patID, patTok := r.patient(t, "fzrx-pat")
	tokens["PATIENT"] = patTok
	tokens["service"] = (&billingRig{appointmentRig: &appointmentRig{platform: r.platform}}).serviceToken(t, "pharmacy", pharmacySecret)

	med := r.medication(t, "FUZZ1", "Fuzz 500mg", "Fuzz", "10")
	r.receive(t, tokens["PHARMACIST"], med, "F1", 1000, 100)
	rx := r.prescribe(t, tokens["DOCTOR"], patID, med, 500, nil)
	expect(t, "prescribe", rx, http.StatusCreated)
	ids := []string{rx.str("id"), med, strconv.FormatInt(patID, 10), "1"}

	ops, err := fuzzOperations(ctx, r.platform)
	if err != nil {
		t.Fatal(err)
	}
	var identities []string
	for id := range tokens {
		identities = append(identities, id)
	}
	slices.Sort(identities)
	var all []fuzzCase
	for _, op := range ops {
		if op.service != "pharmacy" {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(op.String()))
		all = append(all, cases(op, identities, ids, rand.New(rand.NewPCG(1, h.Sum64())), fuzzLimit)...)
	}
	if len(all) == 0 {
		t.Fatal("no pharmacy operation to fuzz")
	}
	timeouts := routeTimeouts(ctx, r.platform)
	var findings []string
	statuses := map[int]int{}
	for _, c := range all {
		status, finding := fuzzOne(r.gw, c, tokens, timeouts(c.path))
		statuses[status]++
		if finding != "" {
			findings = append(findings, finding)
		}
	}
	t.Logf("fuzz: %d requests to the pharmacy; statuses %v", len(all), statuses)
	for i, f := range findings {
		if i == 40 {
			t.Errorf("... and %d more", len(findings)-40)
			break
		}
		t.Error(f)
	}
	// What the fuzzing left is still whole: the stock adds up to its card.
	st := r.stockOf(t, tokens["PHARMACIST"], med)
	var sum int64
	for _, b := range st["expiry_dates"].([]any) {
		sum += num(b.(map[string]any)["quantity"])
	}
	if sum != num(st["quantity_on_hand"]) {
		t.Fatalf("after fuzzing: batches %d, on hand %d", sum, num(st["quantity_on_hand"]))
	}
}
