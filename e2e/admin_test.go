package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// adminSecret is the admin service's client secret at the user service.
const adminSecret = "e2e-admin-secret"

var adminClients = billingClients + ",admin=" + adminSecret + ",ehr=" + ehrSecret + ",pharmacy=" + pharmacySecret + ",lab=" + labSecret

const (
	pathAuditLogs = "/api/v1/admin/audit-logs/"
	pathDashboard = "/api/v1/admin/dashboard/summary/"
	pathConfig    = "/api/v1/admin/system-configurations/"
)

// adminRig is the platform with the services the audit trail crosses:
// user, notification, appointment, billing (with stripe-mock), EHR,
// pharmacy and admin, behind the gateway.
type adminRig struct {
	*billingRig
	ehr      *testkit.Service
	pharmacy *pharmacyRig // the pharmacy tests' helpers, on this platform
	admins   []*testkit.Service
	adminDB  *sql.DB
	adminEnv []string
}

func startAdminRig(t testing.TB, adminEnv ...string) *adminRig {
	t.Helper()
	r := &adminRig{billingRig: startBillingRigWith(t, adminClients)}
	r.startBilling(t)
	f := testkit.SharedFerretDB(t)
	r.ehr = testkit.StartService(t, r.consul, "ehr", testkit.Build(t, "hospital/svc/ehr"),
		"MONGO_URI="+f.URI, "MONGO_DB="+f.NewDatabase(t), "SERVICE_SECRET="+ehrSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s", "CARE_CACHE_TTL=0")
	r.pharmacy = &pharmacyRig{platform: r.platform, ehr: r.ehr, admin: r.admin}
	r.pharmacy.pharmacy = testkit.StartService(t, r.consul, "pharmacy", testkit.Build(t, "hospital/svc/pharmacy"),
		"MONGO_URI="+f.URI, "MONGO_DB="+f.NewDatabase(t), "SERVICE_SECRET="+pharmacySecret, "RECOVERY_INTERVAL=1s",
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s")
	db, env := openDB(t)
	r.adminDB = db
	r.adminEnv = append(env, "SERVICE_SECRET="+adminSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"CONFIG_SYNC_INTERVAL=1s", "TASK_POLL_INTERVAL=200ms", "DASHBOARD_TIMEOUT=1500ms")
	r.adminEnv = append(r.adminEnv, adminEnv...)
	r.admins = append(r.admins, testkit.StartService(t, r.consul, "admin", testkit.Build(t, "hospital/svc/admin"), r.adminEnv...))
	r.waitStatus(t, http.MethodGet, pathDashboard, http.StatusUnauthorized)
	r.waitStatus(t, http.MethodGet, "/api/v1/ehr/patients/1/", http.StatusUnauthorized)
	r.waitStatus(t, http.MethodGet, "/api/v1/pharmacy/stock/", http.StatusUnauthorized)
	return r
}

// auditEntries reads the audit log through the gateway as the admin.
func (r *adminRig) auditEntries(t testing.TB, query string) []map[string]any {
	t.Helper()
	res := r.do(t, http.MethodGet, pathAuditLogs+"?page_size=100&"+query, r.admin, nil, nil)
	expect(t, "audit log "+query, res, http.StatusOK)
	var out []map[string]any
	for _, x := range res.body["results"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// waitAudit waits until the audit log holds an entry matching query for
// which match is true, and returns it.
func (r *adminRig) waitAudit(t testing.TB, what, query string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	err := testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		for _, e := range r.auditEntries(t, query) {
			if match(e) {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no audit entry: %s", what)
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A patient's data read by an admin (appointments, while the admin service
// is down), paid for by the patient (billing), read by a doctor breaking
// the glass (EHR) and dispensed by a pharmacist (pharmacy): each is in the
// one audit log with its actor and patient; the chain verifies, and an
// entry changed in the database is found at its position.
func TestAdminAuditTrailThroughGateway(t *testing.T) {
	r := startAdminRig(t)
	adminID := num(r.do(t, http.MethodGet, "/api/v1/users/me/", r.admin, nil, nil).body["id"])
	patID, patTok := r.patient(t, "audit-hoa")
	docID, docTok := r.doctor(t, "audit-dr-an")
	strangerID, strangerTok := r.doctor(t, "audit-dr-binh")

	// The admin reads the patient's appointments while the admin service
	// is down: the event waits in the appointment service's outbox.
	apptID := r.completed(t, patTok, docID, docTok, 1, 9)
	if err := r.admins[0].Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	expect(t, "admin lists the patient's appointments",
		r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/appointments/", patID), r.admin, nil, nil), http.StatusOK)
	if n := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin' AND status = 'PENDING'
		AND body LIKE '%"action_performed":"appointment.list"%'`); n != 1 {
		t.Fatalf("%d list events waiting for the admin service, want 1", n)
	}
	r.admins[0].Restart(t, r.consul)
	r.waitStatus(t, http.MethodGet, pathDashboard, http.StatusUnauthorized)
	// The patient pays the consultation by card.
	inv := r.invoiceOf(t, patID, patTok, apptID)
	paid := r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/invoices/%d/pay/", num(inv["id"])), patTok, map[string]any{
		"payment_method": "CREDIT_CARD", "amount": "150000",
		"card_details_if_applicable": map[string]any{"payment_method_token": "tok_visa"}}, map[string]string{"Idempotency-Key": "audit-pay-1"})
	expect(t, "card payment", paid, http.StatusCreated)
	// A doctor without a care relationship breaks the glass on the record
	// (created by the completed appointment's link).
	record := fmt.Sprintf("/api/v1/ehr/patients/%d/", patID)
	err := testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		if res := r.do(t, http.MethodGet, record, docTok, nil, nil); res.status != http.StatusOK {
			return fmt.Errorf("the treating doctor reads the record: %d %s", res.status, res.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "without a reason", r.do(t, http.MethodGet, record, strangerTok, nil, nil), http.StatusForbidden)
	expect(t, "breaking the glass", r.do(t, http.MethodGet, record, strangerTok, nil,
		map[string]string{"X-Break-Glass-Reason": "Cấp cứu: bệnh nhân bất tỉnh tại khoa"}), http.StatusOK)

	// A pharmacist dispenses the doctor's prescription.
	ph := r.pharmacy
	phID, phTok := ph.staff(t, "audit-ds-chi", "PHARMACIST")
	para := ph.medication(t, "PARA500", "Paracetamol 500mg", "Paracetamol", "1200.00")
	ph.receive(t, phTok, para, "B-AUDIT", 50, 200)
	rx := ph.prescribe(t, docTok, patID, para, 6, nil)
	expect(t, "prescription", rx, http.StatusCreated)
	expect(t, "verify", r.do(t, http.MethodPut, "/api/v1/pharmacy/prescriptions/"+rx.str("id")+"/verify/", phTok, nil, nil), http.StatusOK)
	expect(t, "dispense", r.do(t, http.MethodPost, "/api/v1/pharmacy/prescriptions/"+rx.str("id")+"/dispense/", phTok,
		map[string]any{"items_dispensed": []map[string]any{{"prescription_item_id_ref": itemID(rx), "quantity_dispensed": 6}}},
		map[string]string{"Idempotency-Key": "audit-dispense-1"}), http.StatusCreated)

	// The doctor reads the patient's prescriptions; the admin reads the
	// notifications sent to the patient.
	expect(t, "the patient's prescriptions", r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/prescriptions/", patID), docTok, nil, nil), http.StatusOK)
	expect(t, "the patient's notifications", r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/admin/notification-logs/?recipient_id=%d", patID), r.admin, nil, nil), http.StatusOK)

	patient := fmt.Sprintf("patient_id=%d", patID)
	is := func(k string, v any) func(map[string]any) bool {
		return func(e map[string]any) bool { return e[k] == v }
	}
	list := r.waitAudit(t, "the admin's read of the appointments", patient+"&service=appointment&action=appointment.list", is("user_id", float64(adminID)))
	if list["role"] != "ADMIN" || num(list["patient_id"]) != patID || list["outcome"] != "SUCCESS" {
		t.Errorf("appointment list entry: %v", list)
	}
	pay := r.waitAudit(t, "the card payment", patient+"&service=billing&action=billing.payment.*", is("action_performed", "billing.payment.card"))
	if num(pay["user_id"]) != patID || pay["role"] != "PATIENT" || pay["object_type"] != "payment" {
		t.Errorf("payment entry: %v", pay)
	}
	glass := r.waitAudit(t, "the break-glass read", patient+"&break_glass=true", is("user_id", float64(strangerID)))
	if glass["service_name"] != "ehr" || glass["role"] != "DOCTOR" || !strings.Contains(string(mustJSON(glass["details"])), "bất tỉnh") {
		t.Errorf("break-glass entry: %v", glass)
	}
	dispensed := r.waitAudit(t, "the dispense", patient+"&service=pharmacy&action=pharmacy.prescription.dispense",
		func(map[string]any) bool { return true })
	if num(dispensed["user_id"]) != phID || dispensed["role"] != "PHARMACIST" || dispensed["object_type"] != "dispense_log" {
		t.Errorf("dispense entry: %v", dispensed)
	}
	notices := r.waitAudit(t, "the admin's read of the notifications", "service=notification&action=notification.log.list", is("user_id", float64(adminID)))
	if notices["role"] != "ADMIN" || notices["object_type"] == nil {
		t.Errorf("notification log list entry: %v", notices)
	}
	// The refused read without a reason is there too, DENIED.
	r.waitAudit(t, "the refused read", patient+"&service=ehr&outcome=DENIED", is("user_id", float64(strangerID)))
	// "Who read this patient's data since yesterday", across services, is one query.
	since := time.Now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)
	readers := r.auditEntries(t, patient+"&action=*.read,*.list&since="+since)
	services := map[string]bool{}
	for _, e := range readers {
		services[e["service_name"].(string)] = true
	}
	if !services["appointment"] || !services["ehr"] || !services["pharmacy"] {
		t.Errorf("readers of the patient across services: %v", services)
	}

	// The chain verifies; an entry changed in the database is found.
	v := r.do(t, http.MethodGet, pathAuditLogs+"verify/", r.admin, nil, nil)
	expect(t, "verify", v, http.StatusOK)
	if v.body["valid"] != true || num(v.body["checked"]) < 5 {
		t.Fatalf("verification before tampering: %s", v.raw)
	}
	pos := num(glass["position"])
	if _, err := r.adminDB.Exec(`DROP TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.adminDB.Exec(`UPDATE audit_log SET user_id = ? WHERE position = ?`, docID, pos); err != nil {
		t.Fatal(err)
	}
	v = r.do(t, http.MethodGet, pathAuditLogs+"verify/", r.admin, nil, nil)
	expect(t, "verify after tampering", v, http.StatusOK)
	problems, _ := v.body["problems"].([]any)
	if v.body["valid"] != false || len(problems) != 1 {
		t.Fatalf("verification after tampering: %s", v.raw)
	}
	if p := problems[0].(map[string]any); num(p["position"]) != pos || p["kind"] != "altered" {
		t.Errorf("problem %v, want altered at %d", p, pos)
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// The consultation fee and the invoice due days changed by an admin reach
// appointment and billing while they run: the next completed appointment
// is invoiced at the new fee, due after the new number of days. Each
// change is in the audit log with its old and new value.
func TestAdminLiveConfigurationThroughGateway(t *testing.T) {
	r := startAdminRig(t)
	patID, patTok := r.patient(t, "cfg-lan")
	docID, docTok := r.doctor(t, "cfg-dr-cuong")

	fee := r.do(t, http.MethodGet, pathConfig+"appointment.consultation_fee/", r.admin, nil, nil)
	expect(t, "fee before", fee, http.StatusOK)
	if fee.body["value"] != "150000.00" || fee.body["is_set"] != false {
		t.Fatalf("fee before: %s", fee.raw)
	}
	expect(t, "bad fee", r.do(t, http.MethodPut, pathConfig+"appointment.consultation_fee/", r.admin, map[string]any{"value": "-1"}, nil), http.StatusBadRequest)
	expect(t, "unknown key", r.do(t, http.MethodPut, pathConfig+"nobody.reads_this/", r.admin, map[string]any{"value": 1}, nil), http.StatusBadRequest)

	set := r.do(t, http.MethodPut, pathConfig+"appointment.consultation_fee/", r.admin,
		map[string]any{"key": "appointment.consultation_fee", "value": "175000", "description": "Khám tổng quát từ tháng 12"}, nil)
	expect(t, "set the fee", set, http.StatusOK)
	if set.body["value"] != "175000.00" || num(set.body["version"]) != 1 || set.body["published"] != true {
		t.Fatalf("set: %s", set.raw)
	}
	expect(t, "set the due days", r.do(t, http.MethodPut, pathConfig+"billing.invoice_due_days/", r.admin, map[string]any{"value": 10}, nil), http.StatusOK)
	// Applied once each service says so in its log.
	waitLog(t, r.appt, "live setting applied", "175000.00")
	waitLog(t, r.billing, "live setting applied", "billing.invoice_due_days")

	apptID := r.completed(t, patTok, docID, docTok, 1, 10)
	inv := r.invoiceOf(t, patID, patTok, apptID)
	if inv["total_amount"] != "175000.00" {
		t.Errorf("invoice of an appointment completed after the change: %v, want the new fee", inv["total_amount"])
	}
	issue, _ := time.Parse(time.DateOnly, inv["issue_date"].(string))
	if due := issue.AddDate(0, 0, 10).Format(time.DateOnly); inv["due_date"] != due {
		t.Errorf("due %v, want %s (10 days)", inv["due_date"], due)
	}
	change := r.waitAudit(t, "the fee change", "service=admin&action=admin.configuration.update&object_id=appointment.consultation_fee",
		func(map[string]any) bool { return true })
	if d := string(mustJSON(change["details"])); !strings.Contains(d, `"new_value":"175000.00"`) || !strings.Contains(d, `"old_value":null`) {
		t.Errorf("change entry details %s", d)
	}
}

// The dashboard shows every running service's figures (lab is not
// running: its section says so); with billing
// stopped it still answers, billing's section saying why; the recalculation
// of the reports, triggered twice on two admin instances, runs once.
func TestAdminDashboardAndTasksThroughGateway(t *testing.T) {
	r := startAdminRig(t)
	patID, patTok := r.patient(t, "dash-mai")
	docID, docTok := r.doctor(t, "dash-dr-duc")
	r.invoiceOf(t, patID, patTok, r.completed(t, patTok, docID, docTok, 1, 11))

	sections := func() map[string]map[string]any {
		t.Helper()
		res := r.do(t, http.MethodGet, pathDashboard, r.admin, nil, nil)
		expect(t, "dashboard", res, http.StatusOK)
		out := map[string]map[string]any{}
		for k, v := range res.body["sections"].(map[string]any) {
			out[k] = v.(map[string]any)
		}
		return out
	}
	s := sections()
	for _, name := range []string{"users", "appointments", "billing", "ehr", "pharmacy", "audit"} {
		if s[name]["available"] != true {
			t.Errorf("%s section: %v", name, s[name])
		}
	}
	if f := s["billing"]["figures"].(map[string]any); num(f["invoices_outstanding"]) != 1 || f["outstanding_amount"] != "150000.00" {
		t.Errorf("billing figures %v", f)
	}
	if s["lab"]["available"] != false || s["lab"]["reason"] != "lab has no healthy instance" {
		t.Errorf("lab section without its service: %v", s["lab"])
	}

	if err := r.billing.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	s = sections()
	if s["billing"]["available"] != false || !strings.Contains(s["billing"]["reason"].(string), "billing") {
		t.Errorf("billing section with billing stopped: %v", s["billing"])
	}
	if s["users"]["available"] != true || s["appointments"]["available"] != true {
		t.Errorf("other sections with billing stopped: %v", s)
	}
	r.billing.Restart(t, r.consul)
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if b := sections()["billing"]; b["available"] != true {
			return fmt.Errorf("billing section: %v", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Two instances; the task triggered twice at once.
	r.admins = append(r.admins, r.admins[0].Another(t))
	ids := make([]int64, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := r.do(t, http.MethodPost, "/api/v1/admin/tasks/recalculate-reports/", r.admin, nil, nil)
			if res.status != http.StatusAccepted {
				t.Errorf("trigger %d: %d %s", i, res.status, res.raw)
			}
			ids[i] = num(res.body["id"])
		}()
	}
	wg.Wait()
	if ids[0] != ids[1] || ids[0] == 0 {
		t.Fatalf("two triggers gave tasks %v", ids)
	}
	var task result
	err = testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		task = r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/admin/tasks/%d/", ids[0]), r.admin, nil, nil)
		if task.str("status") != "SUCCEEDED" {
			return fmt.Errorf("task: %s", task.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if num(task.body["runs"]) != 1 || !strings.HasPrefix(task.str("runner"), "admin-") {
		t.Errorf("task ran %v times on %v", task.body["runs"], task.body["runner"])
	}
	progress := task.body["progress"].(map[string]any)
	if num(progress["done"]) != 30 || num(progress["total"]) != 30 {
		t.Errorf("progress %v", progress)
	}
	rep := r.do(t, http.MethodGet, "/api/v1/admin/dashboard/daily-activity/", r.admin, nil, nil)
	expect(t, "reports", rep, http.StatusOK)
	if num(rep.body["count"]) < 3 { // at least user, appointment, billing today
		t.Errorf("reports: %s", rep.raw)
	}
}

// waitLog waits until the service's log has a line with every part.
func waitLog(t testing.TB, s *testkit.Service, parts ...string) {
	t.Helper()
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		b, err := os.ReadFile(s.LogPath)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("%s has not logged %q", s.Name, parts)
	})
	if err != nil {
		t.Fatal(err)
	}
}
