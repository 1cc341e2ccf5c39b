package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/mongodb"
	"hospital/lib/testkit"
	"hospital/svc/lab/httpapi"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

// Bad input is a 400 problem (a path naming nothing a 404) and changes
// nothing.
func TestBadInputChangesNothing(t *testing.T) {
	r := newRig(t)
	e := r.e
	glu := e.Catalog["GLU"].ID
	order := func(extra map[string]any) map[string]any {
		b := map[string]any{"patient_id": e.Man, "items": []map[string]any{{"test_catalog_id": glu}}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for name, body := range map[string]any{
		"malformed":          `{"patient_id": `,
		"unknown field":      order(map[string]any{"ward": "B2"}),
		"no items":           order(map[string]any{"items": []any{}}),
		"priority":           order(map[string]any{"items": []map[string]any{{"test_catalog_id": glu, "priority": "STAT"}}}),
		"patient as string":  order(map[string]any{"patient_id": fmt.Sprint(e.Man)}),
		"another doctor's":   order(map[string]any{"doctor_id": e.Doctor2}),
		"not a catalog id":   order(map[string]any{"items": []map[string]any{{"test_catalog_id": "CBC"}}}),
		"patient is a nurse": order(map[string]any{"patient_id": e.Nurse}),
	} {
		if got, out := r.do(t, "doctor", "POST", "/api/v1/lab/orders/", body); got != 400 {
			t.Errorf("order, %s: %d %v", name, got, out)
		}
	}
	if n, _ := e.Store.CountOrders(e.As(e.Admin), laboratory.StatusRequested); n != 0 {
		t.Fatalf("bad orders placed %d", n)
	}

	o := r.collected(t)
	results := "/api/v1/lab/orders/" + o.ID + "/items/" + o.Items[0].ItemID + "/results/"
	value := func(v any) map[string]any { return map[string]any{"glucose": map[string]any{"value": v}} }
	for name, body := range map[string]any{
		"nothing":           map[string]any{"interpretation": "?"},
		"value as a string": map[string]any{"result_values": value("5.1")},
		"no value":          map[string]any{"result_values": map[string]any{"glucose": map[string]any{"unit": "mmol/L"}}},
		"other unit":        map[string]any{"result_values": map[string]any{"glucose": map[string]any{"value": 92, "unit": "mg/dL"}}},
		"unknown analyte":   map[string]any{"result_values": map[string]any{"sodium": map[string]any{"value": 140}}},
		"ftp file":          map[string]any{"result_values": value(5.1), "result_file_url": "ftp://files/glu.pdf"},
		"s3 file":           map[string]any{"result_values": value(5.1), "result_file_url": "s3://bucket/results/cbc_result.pdf"},
		"relative file":     map[string]any{"result_values": value(5.1), "result_file_url": "/results/glu.pdf"},
		"credentials":       map[string]any{"result_values": value(5.1), "result_file_url": "https://u:p@files.test/glu.pdf"},
		"another tech":      map[string]any{"result_values": value(5.1), "technician_id": e.Tech2},
	} {
		if got, out := r.do(t, "tech", "POST", results, body); got != 400 {
			t.Errorf("result, %s: %d %v", name, got, out)
		}
	}
	for name, c := range map[string]struct {
		caller, method, path string
		body                 any
		want                 int
	}{
		"status unknown":   {"tech", "PUT", "/api/v1/lab/orders/" + o.ID + "/status/", map[string]any{"status": "DONE"}, 400},
		"short order id":   {"tech", "PUT", "/api/v1/lab/orders/abc123/status/", map[string]any{"status": "PROCESSING"}, 404},
		"long order id":    {"doctor", "GET", "/api/v1/lab/orders/" + o.ID + "00/results/", nil, 404},
		"no such order":    {"doctor", "GET", "/api/v1/lab/orders/0123456789abcdef01234567/results/", nil, 404},
		"no such item":     {"tech", "PUT", "/api/v1/lab/orders/" + o.ID + "/items/0123-abcd/status/", map[string]any{"item_status": "PROCESSING"}, 404},
		"page past end":    {"tech", "GET", "/api/v1/lab/orders/pending/?page=2", nil, 404},
		"status filter":    {"doctor", "GET", fmt.Sprintf("/api/v1/patients/%d/lab-results/?status=DONE", e.Man), nil, 400},
		"retired filter":   {"admin", "GET", "/api/v1/admin/lab-tests/catalog/?include_retired=maybe", nil, 400},
		"no such test":     {"admin", "GET", "/api/v1/admin/lab-tests/catalog/0123456789abcdef01234567/", nil, 404},
		"price as number":  {"admin", "POST", "/api/v1/admin/lab-tests/catalog/", map[string]any{"test_code": "NA", "test_name": "Sodium", "price": 50000}, 400},
		"template no unit": {"admin", "POST", "/api/v1/admin/lab-tests/catalog/", map[string]any{"test_code": "NA", "test_name": "Sodium", "price": "50000", "normal_ranges_template": map[string]any{"sodium": map[string]any{"min": 135}}}, 400},
		"code changes":     {"admin", "PUT", "/api/v1/admin/lab-tests/catalog/" + glu + "/", map[string]any{"test_code": "GLUC", "test_name": "Glucose", "price": "1"}, 400},
	} {
		if got, out := r.do(t, c.caller, c.method, c.path, c.body); got != c.want {
			t.Errorf("%s: %d, want %d: %v", name, got, c.want, out)
		}
	}
	got, _ := e.Store.Order(e.As(e.Tech), o.ID)
	if got.Version != o.Version || got.Items[0].Result != nil {
		t.Fatalf("bad requests changed the order: version %d", got.Version)
	}
	if _, n, _ := e.Svc.Tests(e.As(e.Admin), true, 20, 0); n != 3 {
		t.Fatalf("bad requests changed the catalog: %d tests", n)
	}
}

// A retried order under one Idempotency-Key answers the first order.
func TestIdempotencyKeyOverHTTP(t *testing.T) {
	r := newRig(t)
	body := map[string]any{"patient_id": r.e.Man, "items": []map[string]any{{"test_catalog_id": r.e.Catalog["CBC"].ID}}}
	got, first := r.do(t, "doctor", "POST", "/api/v1/lab/orders/", body, "Idempotency-Key", "k-1")
	again, second := r.do(t, "doctor", "POST", "/api/v1/lab/orders/", body, "Idempotency-Key", "k-1")
	if got != 201 || again != 201 || first["id"] != second["id"] {
		t.Fatalf("%d %v / %d %v", got, first["id"], again, second["id"])
	}
	body["patient_id"] = r.e.Woman
	if got, out := r.do(t, "doctor", "POST", "/api/v1/lab/orders/", body, "Idempotency-Key", "k-1"); got != 422 {
		t.Fatalf("same key, other body: %d %v", got, out)
	}
}

// The OpenAPI document can be built from the table.
func TestOpenAPIDocument(t *testing.T) {
	doc, err := api.Document(api.Info{Title: "Laboratory"}, httpapi.Routes(nil))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Paths.Find("/api/v1/lab/orders/{order_id}/items/{item_id}/results/") == nil {
		t.Fatal("the results path is not in the document")
	}
}

// With the database down, requests answer 503 with Retry-After at once,
// as main wires the service (StoreDown: mongodb.Unreachable).
func TestADatabaseOutageIsA503(t *testing.T) {
	f := testkit.StartFerretDB(t, testkit.FerretPostgreSQL)
	e := labtest.NewEnvOn(t, f)
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{Verifier: e.Verifier(), StoreDown: mongodb.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := &rig{e: e, srv: srv, tokens: map[string]string{"tech": e.Token(t, e.Tech, ""), "doctor": e.Token(t, e.Doctor, "")}}
	f.Kill()
	for _, c := range []struct{ caller, method, path string }{
		{"tech", "GET", "/api/v1/lab/orders/pending/"},
		{"doctor", "GET", "/api/v1/admin/lab-tests/catalog/"},
		{"doctor", "GET", "/api/v1/lab/orders/0123456789abcdef01234567/results/"},
	} {
		start := time.Now()
		got, out := r.do(t, c.caller, c.method, c.path, nil)
		if got != 503 || time.Since(start) > 10*time.Second {
			t.Fatalf("%s %s with the database down: %d after %s: %v", c.method, c.path, got, time.Since(start), out)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/lab/orders/pending/", nil)
	req.Header.Set("Authorization", "Bearer "+r.tokens["tech"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("a 503 without Retry-After")
	}
}
