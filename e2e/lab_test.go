package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

// Client secrets of the services the lab rig runs, as its user service
// knows them (SERVICE_CLIENTS).
const (
	labSecret        = "e2e-lab-secret"
	labAdminSecret   = "e2e-admin-secret"
	labEHRSecret     = "e2e-ehr-secret"
	labClientsSecret = "SERVICE_CLIENTS=notification=" + notificationSecret + ",billing=" + billingSecret +
		",lab=" + labSecret + ",admin=" + labAdminSecret + ",ehr=" + labEHRSecret
)

type labRig struct {
	*platform
	notif     *notifier
	billing   *testkit.Service
	billingDB *sql.DB
	lab       *testkit.Service
	labEnv    []string
	ehr       *testkit.Service
	admin     string
}

// startLabRig runs the platform with the notification, billing and lab
// services, and waits until the gateway routes to the lab.
func startLabRig(t testing.TB, labEnv ...string) *labRig {
	t.Helper()
	p := startPlatform(t, labClientsSecret)
	r := &labRig{platform: p, notif: newNotifier(t)}
	r.notif.start(t, p)
	db, env := openDB(t)
	r.billingDB = db
	// Billing calls no payment gateway in these tests.
	r.billing = testkit.StartService(t, p.consul, "billing", testkit.Build(t, "hospital/svc/billing"), append(env,
		"SERVICE_SECRET="+billingSecret, "STRIPE_API_BASE=http://127.0.0.1:1", "OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s")...)
	f := testkit.SharedFerretDB(t)
	r.labEnv = append([]string{"MONGO_URI=" + f.URI, "MONGO_DB=" + f.NewDatabase(t), "SERVICE_SECRET=" + labSecret,
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s"}, labEnv...)
	r.lab = testkit.StartService(t, p.consul, "lab", testkit.Build(t, "hospital/svc/lab"), r.labEnv...)
	p.waitNotificationRouted(t)
	p.waitStatus(t, http.MethodGet, "/api/v1/admin/invoices/", http.StatusUnauthorized)
	p.waitStatus(t, http.MethodGet, "/api/v1/lab/orders/pending/", http.StatusUnauthorized)
	r.admin, _ = p.login(t, adminUser, adminPass)
	return r
}

// startEHR deploys the EHR service and waits until the gateway routes to it.
func (r *labRig) startEHR(t testing.TB) {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	r.ehr = testkit.StartService(t, r.consul, "ehr", testkit.Build(t, "hospital/svc/ehr"), "MONGO_URI="+f.URI,
		"MONGO_DB="+f.NewDatabase(t), "SERVICE_SECRET="+labEHRSecret, "OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s")
	r.waitStatus(t, http.MethodGet, "/api/v1/ehr/patients/1/", http.StatusUnauthorized)
}

// staff creates a staff account with role and returns its id and token.
func (r *labRig) staff(t testing.TB, username, role, first, last string) (int64, string) {
	t.Helper()
	res := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": username, "password": staffPass, "email": username + "@hospital.test", "role_name": role,
		"first_name": first, "last_name": last}, nil)
	expect(t, "create "+role, res, http.StatusCreated)
	tok, _ := r.login(t, username, staffPass)
	return num(res.body["id"]), tok
}

// labPatient registers a patient with sex and date of birth.
func (r *labRig) labPatient(t testing.TB, username, sex, dob string) (int64, string) {
	t.Helper()
	res := r.do(t, http.MethodPost, "/api/v1/users/register/", "", map[string]any{
		"username": username, "password": patientPass, "email": username + "@patients.test",
		"first_name": "Nguyen Van", "last_name": "Nam", "sex": sex, "date_of_birth": dob}, nil)
	expect(t, "register "+username, res, http.StatusCreated)
	tok, _ := r.login(t, username, patientPass)
	return num(res.body["id"]), tok
}

// catalogTest adds a test to the catalog as the admin.
func (r *labRig) catalogTest(t testing.TB, body map[string]any) string {
	t.Helper()
	res := r.do(t, http.MethodPost, "/api/v1/admin/lab-tests/catalog/", r.admin, body, nil)
	expect(t, "catalog "+fmt.Sprint(body["test_code"]), res, http.StatusCreated)
	return res.str("id")
}

var cbcTest = map[string]any{"test_code": "CBC", "test_name": "Complete Blood Count", "description": "Measures various components of blood.",
	"sample_type_required": "Whole Blood (EDTA)", "turn_around_time_hours": 2, "price": "150000.00",
	"normal_ranges_template": map[string]any{
		"hemoglobin": map[string]any{"unit": "g/dL", "male_min": 13.5, "male_max": 17.5, "female_min": 12.0, "female_max": 15.5,
			"critical_min": 7.0, "critical_max": 20.0},
		"hematocrit": map[string]any{"unit": "%", "male_min": 41, "male_max": 53, "female_min": 36, "female_max": 46},
	}}

// serviceTokenOf obtains a service token from the user service, as the
// named service does.
func (p *platform) serviceTokenOf(t testing.TB, service, secret string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"service": service, "secret": secret})
	resp, err := http.Post(p.user.URL+"/api/v1/users/internal/service-token/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("service token for %s: %d %v", service, resp.StatusCode, err)
	}
	return out.AccessToken
}

// direct sends a request straight to a service (internal paths are not
// routed by the gateway).
func direct(t testing.TB, svc *testkit.Service, method, path, token string, body any, header map[string]string) result {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, svc.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return result{status: resp.StatusCode, header: resp.Header, body: out}
}

// labInvoices waits until billing holds n invoices of the lab order.
func (r *labRig) labInvoices(t testing.TB, orderID string, n int) {
	t.Helper()
	err := testkit.Until(context.Background(), 60*time.Second, r.billing.Proc, func(ctx context.Context) error {
		var got int
		if err := r.billingDB.QueryRow(`SELECT COUNT(*) FROM invoices WHERE related_lab_order_id = ?`, orderID).Scan(&got); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d invoices of lab order %s, want %d", got, orderID, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func itemsOf(r result) []map[string]any {
	var out []map[string]any
	for _, v := range r.body["items"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// Through the gateway, with the real user, notification, billing, lab and
// EHR services: a doctor orders a CBC, the lab collects the sample (billing
// invoices the order, once), enters a high hemoglobin (flagged HIGH by the
// service, whatever the technician's is_abnormal says), the doctor is
// emailed, the patient sees nothing until a doctor releases, then sees the
// results and is emailed. EHR is deployed only after the release: the
// reference waited in the lab's outbox, lands once, and the patient's
// record shows it.
func TestLabEndToEnd(t *testing.T) {
	r := startLabRig(t)
	docID, docTok := r.staff(t, "drlab", "DOCTOR", "Tran Thi", "Bich")
	_, techTok := r.staff(t, "labtuan", "LAB_TECHNICIAN", "Bui", "Tuan")
	patID, patTok := r.labPatient(t, "lab-nam", "M", "1980-03-15")
	_, otherTok := r.labPatient(t, "lab-lan", "F", "1992-01-20")
	cbc := r.catalogTest(t, cbcTest)

	order := r.do(t, http.MethodPost, "/api/v1/lab/orders/", docTok, map[string]any{
		"patient_id": patID, "doctor_id": docID, "notes_for_lab": "Patient is fasting.",
		"items": []map[string]any{{"test_catalog_id": cbc, "priority": "URGENT"}}}, map[string]string{"Idempotency-Key": "e2e-lab-order-1"})
	expect(t, "order", order, http.StatusCreated)
	id := order.str("id")
	if order.str("status") != "REQUESTED" || order.str("priority") != "URGENT" || order.str("patient_name") != "Nguyen Van Nam" {
		t.Fatalf("order: %s", order.raw)
	}
	item := itemsOf(order)[0]["item_id"].(string)
	pending := r.do(t, http.MethodGet, "/api/v1/lab/orders/pending/", techTok, nil, nil)
	expect(t, "pending", pending, http.StatusOK)
	if num(pending.body["count"]) != 1 {
		t.Fatalf("pending: %s", pending.raw)
	}
	expect(t, "a doctor cannot collect samples", r.do(t, http.MethodPut, "/api/v1/lab/orders/"+id+"/status/", docTok,
		map[string]any{"status": "SAMPLE_COLLECTED"}, nil), http.StatusForbidden)

	// Sample collected (twice: a retried PUT): billing invoices the order once.
	for range 2 {
		res := r.do(t, http.MethodPut, "/api/v1/lab/orders/"+id+"/status/", techTok, map[string]any{"status": "SAMPLE_COLLECTED", "sample_id": "SAMP00123"}, nil)
		expect(t, "sample collected", res, http.StatusOK)
	}
	r.labInvoices(t, id, 1)
	invoices := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/invoices/", patID), patTok, nil, nil)
	expect(t, "patient's invoices", invoices, http.StatusOK)
	inv := invoices.body["results"].([]any)[0].(map[string]any)
	if inv["related_lab_order_id"] != id || inv["total_amount"] != "150000.00" {
		t.Fatalf("invoice: %s", invoices.raw)
	}
	// The lab's outbox sending the request again (an answer lost on the
	// way back) changes nothing in billing.
	replay := direct(t, r.billing, http.MethodPost, "/api/v1/billing/internal/create-invoice-for-labtest/", r.serviceTokenOf(t, "lab", labSecret),
		map[string]any{"lab_order_id": id, "patient_id": patID, "items": []map[string]any{{"test_name": "Complete Blood Count", "price": "150000.00"}}},
		map[string]string{"Idempotency-Key": "lab-invoice:" + id})
	if replay.status/100 != 2 || num(replay.body["id"]) != num(inv["id"]) {
		t.Fatalf("redelivered invoice request: %d %v", replay.status, replay.body)
	}
	r.labInvoices(t, id, 1)

	expect(t, "processing", r.do(t, http.MethodPut, "/api/v1/lab/orders/"+id+"/items/"+item+"/status/", techTok,
		map[string]any{"item_status": "PROCESSING"}, nil), http.StatusOK)
	res := r.do(t, http.MethodPost, "/api/v1/lab/orders/"+id+"/items/"+item+"/results/", techTok, map[string]any{
		"result_values": map[string]any{
			"hemoglobin": map[string]any{"value": 19.2, "unit": "g/dL", "is_abnormal": false},
			"hematocrit": map[string]any{"value": 45.0, "unit": "%"}},
		"interpretation": "Raised hemoglobin.", "result_file_url": "https://files.hospital.test/results/cbc_result.pdf"}, nil)
	expect(t, "results", res, http.StatusCreated)
	result := itemsOf(res)[0]["result"].(map[string]any)
	hb := result["result_values"].(map[string]any)["hemoglobin"].(map[string]any)
	if res.str("status") != "RESULTS_PENDING_REVIEW" || hb["flag"] != "HIGH" || hb["is_abnormal"] != true || result["is_abnormal"] != true {
		t.Fatalf("results: %s", res.raw)
	}
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=LAB_RESULT_READY_DOCTOR", docID),
		"the doctor's notice", 60*time.Second, allSent(1))
	r.notif.mail.WaitFor(t, "to:drlab@hospital.test", 1, 30*time.Second)

	// The patient sees nothing before the release.
	list := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/lab-results/", patID), patTok, nil, nil)
	expect(t, "patient's results before release", list, http.StatusOK)
	if num(list.body["count"]) != 0 {
		t.Fatalf("before release: %s", list.raw)
	}
	expect(t, "patient reads the order before release", r.do(t, http.MethodGet, "/api/v1/lab/orders/"+id+"/results/", patTok, nil, nil), http.StatusForbidden)
	expect(t, "a technician cannot release", r.do(t, http.MethodPut, "/api/v1/lab/orders/"+id+"/status/", techTok,
		map[string]any{"status": "COMPLETED"}, nil), http.StatusForbidden)

	// The doctor reviews and releases.
	rel := r.do(t, http.MethodPut, "/api/v1/lab/orders/"+id+"/status/", docTok, map[string]any{"status": "COMPLETED"}, nil)
	expect(t, "release", rel, http.StatusOK)
	if rel.str("status") != "COMPLETED" || num(rel.body["released_by_id"]) != docID {
		t.Fatalf("release: %s", rel.raw)
	}
	list = r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/lab-results/", patID), patTok, nil, nil)
	expect(t, "patient's results", list, http.StatusOK)
	if num(list.body["count"]) != 1 {
		t.Fatalf("after release: %s", list.raw)
	}
	released := list.body["results"].([]any)[0].(map[string]any)["items"].([]any)[0].(map[string]any)["result"].(map[string]any)
	if released["result_values"].(map[string]any)["hemoglobin"].(map[string]any)["flag"] != "HIGH" || num(released["verified_by_id"]) != docID {
		t.Fatalf("released result: %s", list.raw)
	}
	expect(t, "patient reads the order", r.do(t, http.MethodGet, "/api/v1/lab/orders/"+id+"/results/", patTok, nil, nil), http.StatusOK)
	expect(t, "another patient reads it", r.do(t, http.MethodGet, "/api/v1/lab/orders/"+id+"/results/", otherTok, nil, nil), http.StatusForbidden)
	expect(t, "another patient's list", r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/lab-results/", patID), otherTok, nil, nil), http.StatusForbidden)
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=LAB_RESULT_READY_PATIENT", patID),
		"the patient's notice", 60*time.Second, allSent(1))
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=INVOICE_GENERATED", patID),
		"the patient's invoice notice", 60*time.Second, allSent(1))
	// The invoice and the results, each emailed once.
	r.notif.mail.WaitFor(t, "to:lab-nam@patients.test", 2, 60*time.Second)
	// Besides the welcome at registration, exactly those two.
	logs := r.notificationLogs(t, r.admin, fmt.Sprintf("recipient_id=%d", patID))
	logs = slices.DeleteFunc(logs, func(l notificationLog) bool { return l.NotificationType == "USER_REGISTERED" })
	if len(logs) != 2 {
		t.Fatalf("the patient's notifications: %+v", logs)
	}

	// EHR comes up: the reference that waited for it lands, once.
	r.startEHR(t)
	var refs []any
	err := testkit.Until(context.Background(), 60*time.Second, r.ehr.Proc, func(ctx context.Context) error {
		rec := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), patTok, nil, nil)
		if rec.status != http.StatusOK {
			return fmt.Errorf("record: %d %s", rec.status, rec.raw)
		}
		refs, _ = rec.body["lab_result_references"].([]any)
		if len(refs) == 0 {
			return fmt.Errorf("no lab reference yet: %s", rec.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := refs[0].(map[string]any)
	if len(refs) != 1 || ref["lab_order_item_id"] != item || ref["test_name"] != "Complete Blood Count" || ref["summary_status"] != "Abnormal" ||
		ref["result_summary_url"] != "/api/v1/lab/orders/"+id+"/results/" {
		t.Fatalf("EHR's lab references: %v", refs)
	}
	// Delivered again (an answer lost on the way back): still one.
	again := direct(t, r.ehr, http.MethodPost, fmt.Sprintf("/api/v1/ehr/internal/patients/%d/add-lab-result-reference/", patID),
		r.serviceTokenOf(t, "lab", labSecret), map[string]any{"lab_order_item_id": item, "patient_id": patID, "test_name": "Complete Blood Count",
			"result_date": ref["result_date"], "summary_status": "Abnormal", "lab_order_id": id}, map[string]string{"Idempotency-Key": "lab-ehr-reference:" + item})
	rec := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/ehr/patients/%d/", patID), patTok, nil, nil)
	if again.status/100 != 2 || len(rec.body["lab_result_references"].([]any)) != 1 {
		t.Fatalf("redelivered reference: %d, record %s", again.status, rec.raw)
	}

	// The admin dashboard's figures: nothing pending, nothing awaiting review.
	dash := direct(t, r.lab, http.MethodGet, "/api/v1/lab/internal/dashboard/", r.serviceTokenOf(t, "admin", labAdminSecret), nil, nil)
	if dash.status != http.StatusOK || num(dash.body["lab_orders_pending"]) != 0 || num(dash.body["lab_results_awaiting_review"]) != 0 {
		t.Fatalf("dashboard: %d %v", dash.status, dash.body)
	}
}

// The fuzz suite's cases (fuzz_test.go) against every lab operation, as
// anonymous, every role that matters and a service: no 5xx, no hang, every
// refusal a problem+json.
func TestLabFuzz(t *testing.T) {
	r := startLabRig(t)
	ctx := context.Background()
	tokens := map[string]string{"anonymous": "", auth.RoleAdmin: r.admin, "service": r.serviceTokenOf(t, "admin", labAdminSecret)}
	var ids []string
	for _, role := range []string{auth.RoleDoctor, auth.RoleNurse, auth.RoleLabTechnician} {
		id, tok := r.staff(t, "fz"+strings.ToLower(strings.ReplaceAll(role, "_", "")), role, "Quang", "Vu")
		tokens[role], ids = tok, append(ids, strconv.FormatInt(id, 10))
	}
	patID, patTok := r.labPatient(t, "fz-lab-pat", "F", "1990-01-01")
	tokens[auth.RolePatient], ids = patTok, append(ids, strconv.FormatInt(patID, 10))
	r.catalogTest(t, cbcTest)
	identities := slices.Sorted(maps.Keys(tokens))

	ops, err := fuzzOperations(ctx, r.platform)
	if err != nil {
		t.Fatal(err)
	}
	ops = slices.DeleteFunc(ops, func(o operation) bool { return o.service != "lab" })
	if len(ops) != 13 { // the dashboard included: the gateway refuses internal paths (404)
		t.Fatalf("%d lab operations found", len(ops))
	}
	timeouts := routeTimeouts(ctx, r.platform)
	statuses := map[int]int{}
	for _, op := range ops {
		h := fnv.New64a()
		h.Write([]byte(op.String()))
		for _, c := range cases(op, identities, ids, rand.New(rand.NewPCG(1, h.Sum64())), fuzzLimit) {
			status, finding := fuzzOne(r.gw, c, tokens, timeouts(c.path))
			statuses[status]++
			if finding != "" {
				t.Error(finding)
			}
		}
	}
	t.Logf("lab fuzz: %d operations, statuses %v", len(ops), statuses)
}
