package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/notificationapi"
	"hospital/lib/testkit"
	"hospital/svc/notification/httpapi"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// The access matrix: every route, as every kind of caller. Who is refused
// is refused before the handler (401 without a token, 403 with one); who
// is admitted gets an answer from the domain: success, or 404 for another
// caller's log.
func TestAccessMatrix(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	callers := map[string]auth.Identity{
		"admin":                nt.Admin,
		"patient":              nt.Identity(e.Patient),
		"doctor":               {UserID: e.Doctor, Role: auth.RoleDoctor},
		"service user":         nt.Service("user"),
		"service billing":      nt.Service("billing"),
		"service gateway":      nt.Service("gateway"),
		"service notification": nt.Service("notification"),
		"service admin":        nt.Service("admin"),
	}
	// What each sending caller sends: its own type.
	sendBody := func(who string) notify.SendInput {
		in := nt.Registered(e.Patient, "lan")
		if who == "service billing" {
			in = nt.Input(notificationapi.InvoiceGenerated, e.Patient, map[string]any{"invoice_number": "INV-1", "amount": "1.00", "due_date": "2026-12-31"})
		}
		return in
	}
	// A log of the user service's, one of billing's, and a FAILED one.
	userLog := e.MustSend(sendBody("service user"), "matrix-user").LogID
	billingLog := e.MustSend(sendBody("service billing"), "matrix-billing").LogID
	if err := e.Mail.SetChaos(context.Background(), testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	urgent := nt.Registered(e.Patient, "lan")
	urgent.Urgent = true
	failed := e.MustSend(urgent, "matrix-failed")
	if failed.Status != notify.AnswerFailed {
		t.Fatalf("setting up a FAILED log: %+v", failed)
	}
	_ = e.Mail.SetChaos(context.Background(), testkit.Chaos{})
	tpl, _, err := e.Svc.ListTemplates(nt.As(nt.Admin), notify.TemplateFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	tplID := tpl[0].ID
	newTemplate := func(i int) notify.TemplateInput {
		return notify.TemplateInput{NotificationType: fmt.Sprintf("MATRIX_%d", i), Channel: "SMS", Language: "vi", BodyTemplateText: "x"}
	}

	type call struct {
		route  string
		method string
		path   func(who string, i int) string
		body   func(who string, i int) any
		// admitted says whom the route lets through, and what they get.
		admitted map[string]int
	}
	senders := func(own int) map[string]int {
		return map[string]int{"admin": own, "service user": own, "service billing": own}
	}
	static := func(p string) func(string, int) string { return func(string, int) string { return p } }
	calls := []call{
		{"send", "POST", static(httpapi.PathSend), func(who string, _ int) any { return sendBody(who) }, senders(http.StatusAccepted)},
		{"list templates", "GET", static(httpapi.PathTemplates), nil, map[string]int{"admin": 200}},
		{"create template", "POST", static(httpapi.PathTemplates), func(_ string, i int) any { return newTemplate(i) }, map[string]int{"admin": 201}},
		{"get template", "GET", static(httpapi.PathTemplates + tplID + "/"), nil, map[string]int{"admin": 200}},
		{"put template", "PUT", static(httpapi.PathTemplates + tplID + "/"), func(_ string, _ int) any {
			return notify.TemplateInput{NotificationType: tpl[0].NotificationType, Channel: tpl[0].Channel, Language: tpl[0].Language,
				SubjectTemplate: tpl[0].SubjectTemplate, BodyTemplateHTML: tpl[0].BodyTemplateHTML, BodyTemplateText: tpl[0].BodyTemplateText}
		}, map[string]int{"admin": 200}},
		{"delete template", "DELETE", func(who string, i int) string {
			if who != "admin" {
				return httpapi.PathTemplates + tplID + "/"
			}
			c, err := e.Svc.CreateTemplate(nt.As(nt.Admin), newTemplate(1000+i))
			if err != nil {
				t.Fatal(err)
			}
			return httpapi.PathTemplates + c.ID + "/"
		}, nil, map[string]int{"admin": 204}},
		{"list logs", "GET", static(httpapi.PathLogs), nil, senders(200)},
		{"get log", "GET", static(httpapi.PathLogs + userLog + "/"), nil, map[string]int{"admin": 200, "service user": 200, "service billing": 404}},
		{"get billing's log", "GET", static(httpapi.PathLogs + billingLog + "/"), nil, map[string]int{"admin": 200, "service user": 404, "service billing": 200}},
		{"retry log", "POST", static(httpapi.PathLogs + failed.LogID + "/retry/"), nil, map[string]int{"admin": 202}},
		{"types", "GET", static(httpapi.PathTypes), nil, map[string]int{"admin": 200}},
		{"dashboard", "GET", static("/api/v1/notifications/internal/dashboard/"), nil, map[string]int{"service admin": 200}},
	}
	i := 0
	for _, c := range calls {
		for _, who := range append([]string{"anonymous"}, keys(callers)...) {
			i++
			token := ""
			if who != "anonymous" {
				token = e.Token(callers[who])
			}
			var body any
			if c.body != nil {
				body = c.body(who, i)
			}
			want, ok := c.admitted[who]
			switch {
			case who == "anonymous":
				want = http.StatusUnauthorized
			case !ok:
				want = http.StatusForbidden
			}
			r := e.Do(c.method, c.path(who, i), token, body, map[string]string{"Idempotency-Key": fmt.Sprintf("matrix-%d", i)})
			if r.Status != want {
				t.Errorf("%s as %s: %d, want %d: %s", c.route, who, r.Status, want, r.Raw)
			}
		}
	}
}

func keys(m map[string]auth.Identity) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A service token sent by a service that does not own the type is a 403
// with the reason, and sends nothing.
func TestSendOfAnotherServicesTypeIsForbidden(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	reset := nt.Input(notificationapi.PasswordResetRequested, e.Patient, map[string]any{"user_name": "lan", "reset_link": "x"})
	r := e.Do("POST", httpapi.PathSend, e.Token(nt.Service("billing")), reset, nil)
	nt.Expect(t, "billing sending a reset link", r, http.StatusForbidden)
	if !strings.Contains(r.Str("detail"), "billing") || !strings.Contains(r.Str("detail"), notificationapi.PasswordResetRequested) {
		t.Fatalf("detail: %s", r.Raw)
	}
	if n := e.CountLogs(notify.LogFilter{}); n != 0 {
		t.Fatalf("%d logs after a refused send", n)
	}
}
