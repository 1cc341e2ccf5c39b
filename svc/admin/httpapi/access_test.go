package httpapi_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/settings"
	"hospital/svc/admin/httpapi"
	ot "hospital/svc/admin/oversight/oversighttest"
)

// The README's API table is the route table the router enforces.
func TestREADMECarriesTheRouteTable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}

var callers = []string{"anonymous", "patient", "doctor", "admin", "service billing", "service gateway"}

// matrix is every route × every caller: the status each gets. A route
// missing here fails the test, so a new route cannot go unchecked.
var matrix = map[string][]int{
	//                                                   anon patient doctor admin billing gateway
	"GET /api/v1/admin/dashboard/summary/":           {401, 403, 403, 200, 403, 403},
	"GET /api/v1/admin/system-configurations/":       {401, 403, 403, 200, 403, 403},
	"GET /api/v1/admin/system-configurations/{key}/": {401, 403, 403, 200, 403, 403},
	"PUT /api/v1/admin/system-configurations/{key}/": {401, 403, 403, 200, 403, 403},
	"GET /api/v1/admin/audit-logs/":                  {401, 403, 403, 200, 403, 403},
	"GET /api/v1/admin/audit-logs/verify/":           {401, 403, 403, 200, 403, 403},
	"POST /api/v1/admin/tasks/recalculate-reports/":  {401, 403, 403, 202, 403, 403},
	"GET /api/v1/admin/tasks/{task_id}/":             {401, 403, 403, 200, 403, 403},
	"GET /api/v1/admin/dashboard/daily-activity/":    {401, 403, 403, 200, 403, 403},
	"POST /api/v1/admin/internal/audit-events/":      {401, 403, 403, 403, 201, 403},
}

var pathVar = regexp.MustCompile(`\{([a-z_]+)(:[^}]+)?\}`)

func TestAccessMatrix(t *testing.T) {
	s := newServer(t, nil)
	tokens := map[string]string{
		"anonymous": "", "patient": s.User(11, auth.RolePatient), "doctor": s.User(12, auth.RoleDoctor),
		"admin": s.User(13, auth.RoleAdmin), "service billing": s.Service("billing"), "service gateway": s.Service("gateway"),
	}
	task := s.Require("a task", s.Do(http.MethodPost, httpapi.PathRecalculate, tokens["admin"], nil), http.StatusAccepted)
	taskID := int64(task.Body["id"].(float64))
	events := 0
	seen := map[string]bool{}
	for _, rt := range httpapi.Routes(nil) {
		op := rt.Method + " " + pathVar.ReplaceAllString(rt.Path, "{$1}")
		want, ok := matrix[op]
		if !ok {
			t.Errorf("%s has no row in the access matrix", op)
			continue
		}
		seen[op] = true
		for i, who := range callers {
			path := strings.NewReplacer("{key}", "billing.invoice_due_days", "{task_id}", fmt.Sprint(taskID)).
				Replace(pathVar.ReplaceAllString(rt.Path, "{$1}"))
			var body any
			switch op {
			case "PUT /api/v1/admin/system-configurations/{key}/":
				body = map[string]any{"value": 30 + i}
			case "POST /api/v1/admin/internal/audit-events/":
				events++
				ev := ot.Event("billing", "billing.invoice.read", 5, auth.RolePatient, 5)
				ev.EventID = fmt.Sprintf("matrix-%d", events)
				body = ev
			}
			r := s.Do(rt.Method, path, tokens[who], body)
			if r.Status != want[i] {
				t.Errorf("%s as %s: %d, want %d: %s", op, who, r.Status, want[i], r.Raw)
			}
			if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s as %s: error without problem+json", op, who)
			}
		}
	}
	for op := range matrix {
		if !seen[op] {
			t.Errorf("matrix row %s names no route", op)
		}
	}
}

// Every documented configuration key has its row in the README.
func TestREADMEDocumentsEveryConfigurationKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range settings.Catalog() {
		if !strings.Contains(string(readme), "| `"+d.Name()+"` |") {
			t.Errorf("README.md has no row for %s", d.Name())
		}
	}
}
