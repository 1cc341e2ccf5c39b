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
	"hospital/lib/testkit"
	"hospital/svc/lab/httpapi"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
	if n := len(httpapi.Routes(nil)); n != 13 {
		t.Fatalf("%d routes; the spec has 12 lab endpoints, plus the dashboard figures", n)
	}
}

type rig struct {
	e      *labtest.Env
	srv    *httptest.Server
	tokens map[string]string
}

var callers = []string{"anon", "man", "woman", "doctor", "doctor2", "nurse", "tech", "admin", "svc:admin", "svc:billing"}

func newRig(t *testing.T) *rig {
	e := labtest.NewEnv(t)
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{Verifier: e.Verifier()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{e: e, srv: httptest.NewServer(h), tokens: map[string]string{}}
	t.Cleanup(r.srv.Close)
	users := map[string]int64{"man": e.Man, "woman": e.Woman, "doctor": e.Doctor, "doctor2": e.Doctor2, "nurse": e.Nurse,
		"tech": e.Tech, "admin": e.Admin}
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

// do sends a request; body is a value sent as JSON, or a string sent raw.
func (r *rig) do(t *testing.T, caller, method, path string, body any, header ...string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, r.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok := r.tokens[caller]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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

// collected is a new order of GLU for the man with its sample collected.
func (r *rig) collected(t *testing.T) laboratory.Order {
	t.Helper()
	o := r.e.Order(t, r.e.Man, "GLU")
	o, err := r.e.Svc.SetOrderStatus(r.e.As(r.e.Tech), o.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusSampleCollected})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Every route × every caller: who gets in (2xx), who is refused (401
// without a token, 403 otherwise), object-level refusals included.
func TestAccessMatrix(t *testing.T) {
	r := newRig(t)
	e := r.e
	released := r.collected(t)
	if _, err := e.Svc.EnterResult(e.As(e.Tech), released.ID, released.Items[0].ItemID, laboratory.ResultRequest{
		ResultValues: map[string]laboratory.AnalyteInput{"glucose": {Value: fp(5)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.SetOrderStatus(e.As(e.Doctor), released.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	n := 0
	next := func() int { n++; return n }
	fixed := func(p string) func(string) string { return func(string) string { return p } }
	glu := e.Catalog["GLU"].ID
	type route struct {
		method    string
		path      func(caller string) string
		body      func(caller string) any
		ok        map[string]int // callers admitted, with their success status
		forbidden []string       // admitted by role, refused on the object (403)
	}
	routes := []route{
		{"POST", fixed("/api/v1/lab/orders/"), func(string) any {
			return map[string]any{"patient_id": e.Man, "items": []map[string]any{{"test_catalog_id": glu, "priority": "URGENT"}}, "notes_for_lab": "Fasting."}
		}, map[string]int{"doctor": 201, "doctor2": 201}, nil},
		{"GET", fixed(fmt.Sprintf("/api/v1/patients/%d/lab-results/", e.Man)), nil,
			map[string]int{"man": 200, "doctor": 200, "doctor2": 200, "nurse": 200}, []string{"woman"}},
		{"GET", fixed("/api/v1/lab/orders/" + released.ID + "/results/"), nil,
			map[string]int{"man": 200, "doctor": 200, "doctor2": 200, "nurse": 200, "tech": 200}, []string{"woman"}},
		{"GET", fixed("/api/v1/lab/orders/pending/"), nil, map[string]int{"tech": 200}, nil},
		{"PUT", func(string) string { return "/api/v1/lab/orders/" + e.Order(t, e.Man, "GLU").ID + "/status/" },
			func(string) any { return map[string]any{"status": "CANCELLED", "reason": "Not needed"} },
			map[string]int{"doctor": 200, "tech": 200}, []string{"doctor2"}},
		{"PUT", func(string) string {
			o := e.Order(t, e.Man, "GLU")
			return "/api/v1/lab/orders/" + o.ID + "/items/" + o.Items[0].ItemID + "/status/"
		}, func(string) any { return map[string]any{"item_status": "SAMPLE_COLLECTED", "sample_id": "SAMP00123"} },
			map[string]int{"tech": 200}, nil},
		{"POST", func(string) string {
			o := r.collected(t)
			return "/api/v1/lab/orders/" + o.ID + "/items/" + o.Items[0].ItemID + "/results/"
		}, func(string) any {
			return map[string]any{"result_values": map[string]any{"glucose": map[string]any{"value": 6.1, "unit": "mmol/L"}},
				"interpretation": "Slightly raised.", "result_file_url": "https://files.hospital.test/glu.pdf"}
		}, map[string]int{"tech": 201}, nil},
		{"GET", fixed("/api/v1/admin/lab-tests/catalog/"), nil, map[string]int{"admin": 200, "doctor": 200, "doctor2": 200, "tech": 200}, nil},
		{"POST", fixed("/api/v1/admin/lab-tests/catalog/"), func(string) any {
			return map[string]any{"test_code": fmt.Sprintf("MX%d", next()), "test_name": "Matrix", "price": "1000.00"}
		}, map[string]int{"admin": 201}, nil},
		{"GET", fixed("/api/v1/admin/lab-tests/catalog/" + glu + "/"), nil, map[string]int{"admin": 200, "doctor": 200, "doctor2": 200, "tech": 200}, nil},
		{"PUT", fixed("/api/v1/admin/lab-tests/catalog/" + e.Catalog["CULTURE"].ID + "/"), func(string) any {
			return map[string]any{"test_code": "CULTURE", "test_name": "Urine Culture and Sensitivity", "price": "130000.00"}
		}, map[string]int{"admin": 200}, nil},
		{"DELETE", func(c string) string {
			t2, err := e.Svc.CreateTest(e.As(e.Admin), laboratory.CatalogTestRequest{TestCode: fmt.Sprintf("DEL%d", next()), TestName: "Old", Price: "1"})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/v1/admin/lab-tests/catalog/" + t2.ID + "/"
		}, nil, map[string]int{"admin": 204}, nil},
		{"GET", fixed("/api/v1/lab/internal/dashboard/"), nil, map[string]int{"svc:admin": 200}, nil},
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
			path := rt.path(c)
			want, admitted := rt.ok[c]
			switch {
			case c == "anon":
				want = 401
			case !admitted:
				want = 403
			}
			got, out := r.do(t, c, rt.method, path, body)
			if got != want {
				t.Errorf("%s %s as %s: %d, want %d: %v", rt.method, path, c, got, want, out)
			}
		}
		for _, c := range rt.forbidden {
			if _, ok := rt.ok[c]; ok {
				t.Fatalf("%s both admitted and forbidden", c)
			}
		}
	}
	// The patient's list holds their released order, nothing else.
	_, out := r.do(t, "man", "GET", fmt.Sprintf("/api/v1/patients/%d/lab-results/", e.Man), nil)
	if out["count"].(float64) != 1 {
		t.Fatalf("the patient's released results: %v", out)
	}
}

func fp(v float64) *float64 { return &v }
