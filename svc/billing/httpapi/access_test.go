package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"hospital/lib/api"
	"hospital/lib/billingapi"
	"hospital/lib/testkit"
	"hospital/svc/billing/httpapi"
	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
	if len(httpapi.Routes(nil)) != 16 {
		t.Fatalf("%d routes; the spec has 16 billing endpoints", len(httpapi.Routes(nil)))
	}
}

type rig struct {
	e      *billingtest.Env
	srv    *httptest.Server
	tokens map[string]string
}

var callers = []string{"anon", "p1", "p2", "doctor", "nurse", "admin", "prov1", "prov2", "svc:appointment", "svc:pharmacy", "svc:lab", "svc:notification"}

func newRig(t *testing.T) *rig {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{Verifier: e.Verifier()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{e: e, srv: httptest.NewServer(h), tokens: map[string]string{}}
	t.Cleanup(r.srv.Close)
	users := map[string]int64{"p1": e.Patient1, "p2": e.Patient2, "doctor": e.Doctor, "nurse": e.Nurse, "admin": e.Admin, "prov1": e.Provider1, "prov2": e.Provider2}
	for _, c := range callers {
		switch {
		case c == "anon":
		case strings.HasPrefix(c, "svc:"):
			r.tokens[c] = e.Token(t, 0, strings.TrimPrefix(c, "svc:"))
		default:
			r.tokens[c] = e.Token(t, users[c], "")
		}
	}
	return r
}

func (r *rig) do(t *testing.T, caller, method, path string, body any, key string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok := r.tokens[caller]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s as %s: %d without problem+json: %s", method, path, caller, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func num(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }

// Every route × every caller: who gets in (2xx), who is refused (401
// without a token, 403 otherwise), including object-level refusals.
func TestAccessMatrix(t *testing.T) {
	r := newRig(t)
	e := r.e
	ctxSvc := billingtest.AsService("appointment")
	res, err := e.Svc.InvoiceForAppointment(ctxSvc, "", billingapi.InvoiceForAppointment{AppointmentID: 1, PatientID: e.Patient1,
		DoctorID: e.Doctor, ServiceDescription: "Consultation", Amount: "150000.00"})
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Value.ID
	polA, _ := e.Svc.AddPolicy(e.As(e.Patient1), e.Patient1, policyReq("MX-A", e.Provider1))
	polB, _ := e.Svc.AddPolicy(e.As(e.Patient1), e.Patient1, policyReq("MX-B", e.Provider1))
	polC, _ := e.Svc.AddPolicy(e.As(e.Patient1), e.Patient1, policyReq("MX-C", e.Provider1))
	polD, _ := e.Svc.AddPolicy(e.As(e.Patient1), e.Patient1, policyReq("MX-D", e.Provider1))
	claimAdmin, err := e.Svc.CreateClaim(e.As(e.Admin), inv, invoicing.ClaimRequest{InsurancePolicyID: polC.ID, ClaimAmount: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	claimProv, err := e.Svc.CreateClaim(e.As(e.Admin), inv, invoicing.ClaimRequest{InsurancePolicyID: polD.ID, ClaimAmount: "1000"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	next := func() int { n++; return n }
	type route struct {
		method, path string
		body         func(caller string) any
		key          bool
		ok           map[string]int // callers admitted, with their success status
		forbidden    []string       // admitted by role, refused on the object (403)
	}
	id := func(s string, v int64) string { return strings.Replace(s, "%d", fmt.Sprint(v), 1) }
	routes := []route{
		{"POST", "/api/v1/billing/internal/create-invoice-for-appointment/", func(string) any { return billingapiInvoice(e, int64(1000+next())) }, true,
			map[string]int{"svc:appointment": 201}, nil},
		{"POST", "/api/v1/billing/internal/create-invoice-for-medication/", func(string) any {
			return map[string]any{"dispense_log_id": fmt.Sprintf("d%d", next()), "patient_id": e.Patient1,
				"items": []map[string]any{{"medication_name": "Paracetamol", "quantity": 2, "unit_price": "1000.00", "total_price": "2000.00"}}}
		}, false, map[string]int{"svc:pharmacy": 201}, nil},
		{"POST", "/api/v1/billing/internal/create-invoice-for-labtest/", func(string) any {
			return map[string]any{"lab_order_id": fmt.Sprintf("l%d", next()), "patient_id": e.Patient1, "items": []map[string]any{{"test_name": "CBC", "price": "150000.00"}}}
		}, false, map[string]int{"svc:lab": 201}, nil},
		{"GET", id("/api/v1/patients/%d/invoices/", e.Patient1), nil, false, map[string]int{"p1": 200, "admin": 200}, []string{"p2"}},
		{"GET", id("/api/v1/invoices/%d/", inv), nil, false, map[string]int{"p1": 200, "admin": 200, "prov1": 200}, []string{"p2", "prov2"}},
		{"POST", id("/api/v1/invoices/%d/pay/", inv), func(string) any {
			return map[string]any{"payment_method": "CREDIT_CARD", "amount": "1000", "card_details_if_applicable": map[string]any{"payment_method_token": "tok_visa"}}
		}, true, map[string]int{"p1": 201}, []string{"p2"}},
		{"GET", id("/api/v1/patients/%d/insurance-policies/", e.Patient1), nil, false, map[string]int{"p1": 200, "admin": 200}, []string{"p2"}},
		{"POST", id("/api/v1/patients/%d/insurance-policies/", e.Patient1), func(string) any { return policyReq(fmt.Sprintf("MX-P%d", next()), e.Provider1) },
			false, map[string]int{"p1": 201, "admin": 201}, []string{"p2"}},
		{"GET", "/api/v1/admin/invoices/?status=PENDING_INSURANCE&ordering=-issue_date", nil, false, map[string]int{"admin": 200}, nil},
		{"POST", "/api/v1/admin/invoices/", func(string) any {
			return map[string]any{"patient_id": e.Patient2, "items": []map[string]any{{"item_type": "OTHER_SERVICE", "description": "Giường", "unit_price": "200000"}}}
		}, false, map[string]int{"admin": 201}, nil},
		{"PUT", id("/api/v1/admin/invoices/%d/", inv), func(string) any { return map[string]any{"due_date": "2027-02-01"} }, false, map[string]int{"admin": 200}, nil},
		{"POST", id("/api/v1/invoices/%d/claims/", inv), func(c string) any {
			pol := polA.ID
			if c == "admin" {
				pol = polB.ID
			}
			return map[string]any{"insurance_policy_id": pol, "claim_amount": "1000"}
		}, false, map[string]int{"p1": 201, "admin": 201}, []string{"p2"}},
		{"GET", "/api/v1/admin/claims/", nil, false, map[string]int{"admin": 200}, nil},
		{"PUT", id("/api/v1/admin/claims/%d/", claimAdmin.ID), func(string) any { return map[string]any{"status": "PROCESSING"} }, false, map[string]int{"admin": 200}, nil},
		{"GET", "/api/v1/insurance-provider/claims/pending/", nil, false, map[string]int{"prov1": 200, "prov2": 200}, nil},
		{"PUT", id("/api/v1/insurance-provider/claims/%d/process/", claimProv.ID), func(string) any { return map[string]any{"status": "PROCESSING"} },
			false, map[string]int{"prov1": 200}, []string{"prov2"}},
	}
	if len(routes) != len(httpapi.Routes(nil)) {
		t.Fatalf("the matrix covers %d routes of %d", len(routes), len(httpapi.Routes(nil)))
	}
	for _, rt := range routes {
		for _, c := range callers {
			var body any
			if rt.body != nil {
				body = rt.body(c)
			}
			key := ""
			if rt.key {
				key = fmt.Sprintf("mx-%d", next())
			}
			want, admitted := rt.ok[c]
			switch {
			case c == "anon":
				want = 401
			case !admitted:
				want = 403
			}
			got, out := r.do(t, c, rt.method, rt.path, body, key)
			if got != want {
				t.Errorf("%s %s as %s: %d, want %d: %v", rt.method, rt.path, c, got, want, out)
			}
		}
		for _, c := range rt.forbidden {
			if _, ok := rt.ok[c]; ok {
				t.Fatalf("%s both admitted and forbidden", c)
			}
		}
	}
	// The provider's pending list holds only its own claims.
	_, out := r.do(t, "prov2", "GET", "/api/v1/insurance-provider/claims/pending/", nil, "")
	if num(out, "count") != 0 {
		t.Fatalf("prov2 sees claims: %v", out)
	}
	_, out = r.do(t, "prov1", "GET", "/api/v1/insurance-provider/claims/pending/", nil, "")
	if num(out, "count") != 4 {
		t.Fatalf("prov1's pending claims: %v", out)
	}
}

// HTTP-only behaviour: bad input is a 400 problem and changes nothing; a
// page past the end is 404; a payment needs its key.
func TestBadInputChangesNothing(t *testing.T) {
	r := newRig(t)
	e := r.e
	path := "/api/v1/billing/internal/create-invoice-for-appointment/"
	for name, body := range map[string]any{
		"amount as a number": map[string]any{"appointment_id": 1, "patient_id": e.Patient1, "doctor_id": e.Doctor, "service_description": "Consultation", "amount": 150000},
		"unknown field":      map[string]any{"appointment_id": 1, "patient_id": e.Patient1, "doctor_id": e.Doctor, "service_description": "Consultation", "amount": "1.00", "x": 1},
		"missing patient":    map[string]any{"appointment_id": 1, "doctor_id": e.Doctor, "service_description": "Consultation", "amount": "1.00"},
		"malformed":          `{"appointment_id": `,
	} {
		var got int
		if s, ok := body.(string); ok {
			req, _ := http.NewRequest("POST", r.srv.URL+path, strings.NewReader(s))
			req.Header.Set("Authorization", "Bearer "+r.tokens["svc:appointment"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = resp.StatusCode
		} else {
			got, _ = r.do(t, "svc:appointment", "POST", path, body, "")
		}
		if got != 400 {
			t.Errorf("%s: %d", name, got)
		}
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM invoices`); n != 0 {
		t.Fatalf("bad input wrote %d invoices", n)
	}
	if got, _ := r.do(t, "admin", "GET", "/api/v1/admin/invoices/?page=2", nil, ""); got != 404 {
		t.Fatalf("page past the end: %d", got)
	}
	if got, _ := r.do(t, "admin", "GET", "/api/v1/admin/invoices/?status=UNPAID", nil, ""); got != 400 {
		t.Fatalf("unknown status filter: %d", got)
	}
	got, out := r.do(t, "svc:appointment", "POST", path, billingapiInvoice(e, 5), "appointment-invoice:5")
	if got != 201 {
		t.Fatalf("create: %d %v", got, out)
	}
	again, out2 := r.do(t, "svc:appointment", "POST", path, billingapiInvoice(e, 5), "appointment-invoice:5")
	if again != 201 || num(out2, "id") != num(out, "id") {
		t.Fatalf("replay: %d %v", again, out2)
	}
	payPath := fmt.Sprintf("/api/v1/invoices/%d/pay/", num(out, "id"))
	card := map[string]any{"payment_method": "CREDIT_CARD", "amount": "1000", "card_details_if_applicable": map[string]any{"payment_method_token": "tok_visa"}}
	if got, _ := r.do(t, "p1", "POST", payPath, card, ""); got != 400 {
		t.Fatalf("payment without a key: %d", got)
	}
	card["card_details_if_applicable"] = map[string]any{"number": "4242424242424242", "exp": "12/30"}
	if got, _ := r.do(t, "p1", "POST", payPath, card, "k1"); got != 400 {
		t.Fatalf("raw card details: %d", got)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM payments`); n != 0 {
		t.Fatalf("refused payments wrote %d rows", n)
	}
}

func billingapiInvoice(e *billingtest.Env, appt int64) map[string]any {
	return map[string]any{"appointment_id": appt, "patient_id": e.Patient1, "doctor_id": e.Doctor, "service_description": "Consultation", "amount": "150000.00"}
}

func policyReq(number string, provider int64) invoicing.PolicyRequest {
	return invoicing.PolicyRequest{InsuranceProviderID: &provider, ProviderName: "Bảo Việt", PolicyNumber: number,
		MemberID: "M-" + number, ValidFrom: "2026-01-01", ValidTo: "2027-12-31"}
}
