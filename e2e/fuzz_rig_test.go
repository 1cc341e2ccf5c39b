package e2e

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

// fuzzServices are the services TestFuzzEveryEndpoint must find operations
// of: every service of the platform.
var fuzzServices = []string{"user", "notification", "appointment", "billing", "ehr", "pharmacy", "lab", "admin", "gateway"}

// gatewayOperations are the gateway's own: its API reference (the merged
// document and the page's files) and a path it routes to no service, with
// every method. No document describes them: the gateway's is the merge of
// the services'.
func gatewayOperations() []operation {
	var ops []operation
	for _, path := range []string{"/api/docs/{file}", "/api/v1/unrouted/{id}/"} {
		name := strings.Trim(path[strings.LastIndex(path, "{"):], "{}/")
		param := openapi3.NewPathParameter(name).WithSchema(openapi3.NewStringSchema())
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			ops = append(ops, operation{service: "gateway", method: m, path: path, pathParams: []*openapi3.Parameter{param},
				hasBody: m != http.MethodGet && m != http.MethodDelete})
		}
	}
	return ops
}

// fuzzRig is every service of the platform behind the gateway: the admin
// rig (user, notification, appointment, billing, EHR, pharmacy, admin) and
// the lab.
type fuzzRig struct {
	*adminRig
	lab *testkit.Service
}

func startFuzzRig(t testing.TB) *fuzzRig {
	t.Helper()
	r := &fuzzRig{adminRig: startAdminRig(t)}
	f := testkit.SharedFerretDB(t)
	r.lab = testkit.StartService(t, r.consul, "lab", testkit.Build(t, "hospital/svc/lab"),
		"MONGO_URI="+f.URI, "MONGO_DB="+f.NewDatabase(t), "SERVICE_SECRET="+labSecret,
		"OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s")
	r.waitStatus(t, http.MethodGet, "/api/v1/lab/orders/pending/", http.StatusUnauthorized)
	return r
}

// identities returns fuzzIdentities' tokens and ids, and the ids of one
// object of each kind (a confirmed appointment, an encounter, a medication in
// stock, a prescription of it, a lab test in the catalog, an order of it and
// its item, an invoice, a configuration key) named after the path parameter
// that takes them (see pathID), so that requests get past the 404 to the
// code behind.
func (r *fuzzRig) identities(t *testing.T) (map[string]string, []string) {
	t.Helper()
	tokens, ids := fuzzIdentities(t, r.appointmentRig)
	docID, _ := strconv.ParseInt(ids[1], 10, 64)
	patID, _ := strconv.ParseInt(ids[2], 10, 64)
	named := func(param, id string) { ids = append(ids, param+"="+id) }
	named("patient_id", ids[2])
	named("doctor_id", ids[1])
	// The user service's operations on a user (deactivate, change) act on
	// users of their own: the identities keep their sessions.
	for _, name := range []string{"fz-victim-1", "fz-victim-2"} {
		named("user_id", strconv.FormatInt(num(r.register(t, name).body["id"]), 10))
	}

	// A confirmed appointment (a care relationship) and an encounter the
	// doctor writes in the patient's record.
	appt := r.book(t, tokens[auth.RolePatient], docID, clinicSlot(2, 9, 0))
	expect(t, "book", appt, http.StatusCreated)
	apptID := strconv.FormatInt(num(appt.body["id"]), 10)
	expect(t, "confirm", r.do(t, http.MethodPut, "/api/v1/appointments/"+apptID+"/confirm/", tokens[auth.RoleDoctor], nil, nil), http.StatusOK)
	named("appointment_id", apptID)
	enc := r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/ehr/patients/%d/encounters/", patID), tokens[auth.RoleDoctor],
		map[string]any{"chief_complaint": "Fuzz"}, nil)
	expect(t, "encounter", enc, http.StatusCreated)
	named("encounter_id", enc.str("encounter_id"))

	ph := r.pharmacy
	med := ph.medication(t, "FUZZ1", "Fuzz 500mg", "Fuzz", "10.00")
	ph.receive(t, tokens[auth.RolePharmacist], med, "FZ-1", 1000, 100)
	rx := ph.prescribe(t, tokens[auth.RoleDoctor], patID, med, 5, nil)
	expect(t, "prescribe", rx, http.StatusCreated)
	named("medication_id", med)
	named("prescription_id", rx.str("id"))

	test := r.do(t, http.MethodPost, "/api/v1/admin/lab-tests/catalog/", r.admin, cbcTest, nil)
	expect(t, "catalog test", test, http.StatusCreated)
	order := r.do(t, http.MethodPost, "/api/v1/lab/orders/", tokens[auth.RoleDoctor], map[string]any{
		"patient_id": patID, "items": []map[string]any{{"test_catalog_id": test.str("id")}}}, nil)
	expect(t, "lab order", order, http.StatusCreated)
	named("test_id", test.str("id"))
	named("test_catalog_id", test.str("id"))
	named("order_id", order.str("id"))
	named("item_id", itemsOf(order)[0]["item_id"].(string))

	inv := r.do(t, http.MethodPost, "/api/v1/admin/invoices/", r.admin, map[string]any{"patient_id": patID,
		"items": []map[string]any{{"item_type": "OTHER_SERVICE", "description": "Fuzz", "unit_price": "100000"}}}, nil)
	expect(t, "invoice", inv, http.StatusCreated)
	named("invoice_id", strconv.FormatInt(num(inv.body["id"]), 10))
	named("key", "appointment.consultation_fee")
	named("file", "openapi.json")
	named("file", "index.html")
	return tokens, ids
}

var requestID = regexp.MustCompile(`"request_id":"([^"]+)"`)

// explain adds to a finding of a 5xx what the services logged about its
// request (the request id in the answer), so the cause is in the report.
func (r *fuzzRig) explain(finding string) string {
	m := requestID.FindStringSubmatch(finding)
	if m == nil || !strings.HasPrefix(finding, "5") {
		return finding
	}
	for _, s := range append([]*testkit.Service{r.user, r.gateway, r.notifSvc, r.appt, r.billing, r.ehr, r.pharmacy.pharmacy, r.lab}, r.admins...) {
		b, err := os.ReadFile(s.LogPath)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, m[1]) {
				finding += fmt.Sprintf("\n    %s logged: %.600s", s.Name, strings.TrimSpace(line))
			}
		}
	}
	return finding
}
