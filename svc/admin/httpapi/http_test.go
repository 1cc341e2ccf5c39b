package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hospital/lib/auth"
	"hospital/svc/admin/httpapi"
	ot "hospital/svc/admin/oversight/oversighttest"
)

// Bad input is a 400 problem naming the field, and changes nothing.
func TestBadInputIsAProblem(t *testing.T) {
	s := newServer(t, nil)
	admin := s.user(1, auth.RoleAdmin)
	logs := func(q string) string { return httpapi.PathAuditLogs + "?" + q }
	for q, field := range map[string]string{
		"user_id=abc":         "user_id",
		"patient_id=0":        "patient_id",
		"outcome=MAYBE":       "outcome",
		"break_glass=perhaps": "break_glass",
		"since=yesterday":     "since",
		"until=2026-13-01":    "until",
		"since=" + url.QueryEscape("2026-11-30T10:00:00Z") + "&until=2026-11-01": "until",
		"page_size=-1": "page_size",
	} {
		r := s.expect(q, s.do(http.MethodGet, logs(q), admin, nil), http.StatusBadRequest)
		if errs, _ := r.body["errors"].(map[string]any); errs[field] == nil {
			t.Errorf("%s: no error on %s: %s", q, field, r.raw)
		}
	}
	s.expect("page past the end", s.do(http.MethodGet, logs("page=99"), admin, nil), http.StatusNotFound)

	cfg := httpapi.PathConfigurations + "billing.invoice_due_days/"
	s.expect("malformed", s.do(http.MethodPut, cfg, admin, `{"value": `), http.StatusBadRequest)
	s.expect("unknown field", s.do(http.MethodPut, cfg, admin, `{"value": 3, "colour": "red"}`), http.StatusBadRequest)
	s.expect("no value", s.do(http.MethodPut, cfg, admin, `{"description": "x"}`), http.StatusBadRequest)
	s.expect("out of bounds", s.do(http.MethodPut, cfg, admin, `{"value": 400}`), http.StatusBadRequest)
	s.expect("unknown key", s.do(http.MethodPut, httpapi.PathConfigurations+"nobody.reads_this/", admin, `{"value": 1}`), http.StatusBadRequest)
	s.expect("unknown key read", s.do(http.MethodGet, httpapi.PathConfigurations+"nobody.reads_this/", admin, nil), http.StatusNotFound)
	if n := s.Count(`SELECT COUNT(*) FROM system_configurations`); n != 0 {
		t.Errorf("%d configurations stored by bad requests", n)
	}

	s.expect("bad date", s.do(http.MethodPost, httpapi.PathRecalculate, admin, `{"date_from": "30/11/2026"}`), http.StatusBadRequest)
	s.expect("unknown task", s.do(http.MethodGet, "/api/v1/admin/tasks/424242/", admin, nil), http.StatusNotFound)

	svc := s.service("billing")
	s.expect("event with an unknown field", s.do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc,
		`{"event_id": "x1", "timestamp": "2026-11-30T01:00:00Z", "service_name": "billing", "action_performed": "a.b", "role": "", "outcome": "SUCCESS", "mood": "sad"}`),
		http.StatusBadRequest)
	if n := s.Count(`SELECT COUNT(*) FROM audit_log WHERE service_name <> 'admin'`); n != 0 {
		t.Errorf("%d entries from refused events", n)
	}
}

// Through HTTP the way an outbox delivers: the same event twice is one
// entry, both answered 201 with its position; the log reads it back with
// the spec's field names.
func TestEventsThroughHTTP(t *testing.T) {
	s := newServer(t, nil)
	svc := s.service("billing")
	ev := ot.Event("billing", "billing.payment.card", 21, auth.RolePatient, 21).On("payment", "3")
	first := s.expect("event", s.do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc, ev), http.StatusCreated)
	again := s.expect("replay", s.do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc, ev), http.StatusCreated)
	if first.body["position"] != 1.0 || first.body["duplicate"] != false || again.body["position"] != 1.0 || again.body["duplicate"] != true {
		t.Fatalf("receipts %s / %s", first.raw, again.raw)
	}
	admin := s.user(1, auth.RoleAdmin)
	r := s.expect("search", s.do(http.MethodGet, httpapi.PathAuditLogs+"?patient_id=21&service=billing", admin, nil), http.StatusOK)
	results, _ := r.body["results"].([]any)
	if r.body["count"] != 1.0 || len(results) != 1 {
		t.Fatalf("search: %s", r.raw)
	}
	got := results[0].(map[string]any)
	for k, want := range map[string]any{"service_name": "billing", "action_performed": "billing.payment.card",
		"user_id": 21.0, "patient_id": 21.0, "object_id": "3", "outcome": "SUCCESS", "position": 1.0} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if h, _ := got["hash"].(string); len(h) != 64 {
		t.Errorf("hash %q", h)
	}

	rec := s.expect("recalculate", s.do(http.MethodPost, httpapi.PathRecalculate, admin, nil), http.StatusAccepted)
	if loc := rec.header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/admin/tasks/") || rec.str("status") != "PENDING" {
		t.Errorf("202 answer: %s, Location %q", rec.raw, loc)
	}
	v := s.expect("verify", s.do(http.MethodGet, httpapi.PathAuditVerify, admin, nil), http.StatusOK)
	if v.body["valid"] != true {
		t.Errorf("verify: %s", v.raw)
	}
}
