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
	admin := s.User(1, auth.RoleAdmin)
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
		r := s.Require(q, s.Do(http.MethodGet, logs(q), admin, nil), http.StatusBadRequest)
		if errs, _ := r.Body["errors"].(map[string]any); errs[field] == nil {
			t.Errorf("%s: no error on %s: %s", q, field, r.Raw)
		}
	}
	s.Require("page past the end", s.Do(http.MethodGet, logs("page=99"), admin, nil), http.StatusNotFound)

	cfg := httpapi.PathConfigurations + "billing.invoice_due_days/"
	s.Require("malformed", s.Do(http.MethodPut, cfg, admin, `{"value": `), http.StatusBadRequest)
	s.Require("unknown field", s.Do(http.MethodPut, cfg, admin, `{"value": 3, "colour": "red"}`), http.StatusBadRequest)
	s.Require("no value", s.Do(http.MethodPut, cfg, admin, `{"description": "x"}`), http.StatusBadRequest)
	s.Require("out of bounds", s.Do(http.MethodPut, cfg, admin, `{"value": 400}`), http.StatusBadRequest)
	s.Require("unknown key", s.Do(http.MethodPut, httpapi.PathConfigurations+"nobody.reads_this/", admin, `{"value": 1}`), http.StatusBadRequest)
	s.Require("unknown key read", s.Do(http.MethodGet, httpapi.PathConfigurations+"nobody.reads_this/", admin, nil), http.StatusNotFound)
	if n := s.Count(`SELECT COUNT(*) FROM system_configurations`); n != 0 {
		t.Errorf("%d configurations stored by bad requests", n)
	}

	s.Require("bad date", s.Do(http.MethodPost, httpapi.PathRecalculate, admin, `{"date_from": "30/11/2026"}`), http.StatusBadRequest)
	s.Require("unknown task", s.Do(http.MethodGet, "/api/v1/admin/tasks/424242/", admin, nil), http.StatusNotFound)

	svc := s.Service("billing")
	s.Require("event with an unknown field", s.Do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc,
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
	svc := s.Service("billing")
	ev := ot.Event("billing", "billing.payment.card", 21, auth.RolePatient, 21).On("payment", "3")
	first := s.Require("event", s.Do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc, ev), http.StatusCreated)
	again := s.Require("replay", s.Do(http.MethodPost, "/api/v1/admin/internal/audit-events/", svc, ev), http.StatusCreated)
	if first.Body["position"] != 1.0 || first.Body["duplicate"] != false || again.Body["position"] != 1.0 || again.Body["duplicate"] != true {
		t.Fatalf("receipts %s / %s", first.Raw, again.Raw)
	}
	admin := s.User(1, auth.RoleAdmin)
	r := s.Require("search", s.Do(http.MethodGet, httpapi.PathAuditLogs+"?patient_id=21&service=billing", admin, nil), http.StatusOK)
	results, _ := r.Body["results"].([]any)
	if r.Body["count"] != 1.0 || len(results) != 1 {
		t.Fatalf("search: %s", r.Raw)
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

	rec := s.Require("recalculate", s.Do(http.MethodPost, httpapi.PathRecalculate, admin, nil), http.StatusAccepted)
	if loc := rec.Header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/admin/tasks/") || rec.Str("status") != "PENDING" {
		t.Errorf("202 answer: %s, Location %q", rec.Raw, loc)
	}
	v := s.Require("verify", s.Do(http.MethodGet, httpapi.PathAuditVerify, admin, nil), http.StatusOK)
	if v.Body["valid"] != true {
		t.Errorf("verify: %s", v.Raw)
	}
}
