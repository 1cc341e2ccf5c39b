package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/httpx"
	"hospital/lib/problem"
)

type payload struct {
	Name  string `json:"name" validate:"required,max=5"`
	Email string `json:"email" validate:"omitempty,email"`
	Age   int    `json:"age" validate:"gte=0"`
}

func decode(t *testing.T, body, contentType string) (payload, *problem.Problem) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r = limited(r, httpx.DefaultMaxBody)
	var p payload
	err := httpx.Decode(r, &p)
	if err == nil {
		return p, nil
	}
	prob, ok := problem.FromError(err)
	if !ok {
		t.Fatalf("error is not a problem: %v", err)
	}
	return p, prob
}

func TestDecode(t *testing.T) {
	if p, prob := decode(t, `{"name":"ann","email":"a@b.co","age":3}`, "application/json"); prob != nil || p.Name != "ann" {
		t.Fatalf("valid body: %+v %v", p, prob)
	}
	big := `{"name":"` + strings.Repeat("x", int(httpx.DefaultMaxBody)) + `"}`
	cases := []struct {
		name, body, ct string
		status         int
		field          string
	}{
		{"empty", ``, "application/json", 400, ""},
		{"malformed", `{"name":`, "application/json", 400, ""},
		{"not an object", `[1,2]`, "application/json", 400, ""},
		{"wrong type", `{"name":"a","age":"old"}`, "application/json", 400, "age"},
		{"unknown field", `{"name":"a","role":"ADMIN"}`, "application/json", 400, "role"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "application/json", 400, ""},
		{"missing required", `{"age":1}`, "application/json", 400, "name"},
		{"too long", `{"name":"abcdefg"}`, "application/json", 400, "name"},
		{"bad email", `{"name":"a","email":"nope"}`, "application/json", 400, "email"},
		{"oversized", big, "application/json", 413, ""},
		{"wrong media type", `name=a`, "application/x-www-form-urlencoded", 415, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, prob := decode(t, c.body, c.ct)
			if prob == nil || prob.Status != c.status {
				t.Fatalf("got %v, want status %d", prob, c.status)
			}
			if c.field != "" && len(prob.Errors[c.field]) == 0 {
				t.Fatalf("errors = %v, want an entry for %q", prob.Errors, c.field)
			}
			if prob.Detail == "" {
				t.Fatal("problem without detail")
			}
		})
	}
}

func TestHandleWritesProblemJSON(t *testing.T) {
	h := httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return apperr.Field("email", "Enter a valid email address.")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x/", nil))
	if rec.Code != 400 || rec.Header().Get("Content-Type") != problem.ContentType {
		t.Fatalf("status %d content-type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body["detail"] == "" || body["instance"] != "/x/" || body["errors"].(map[string]any)["email"] == nil {
		t.Fatalf("body = %v", body)
	}

	// An unexpected error is a bare 500 that leaks nothing.
	h = httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return &secretError{}
	})
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "s3cret") {
		t.Fatalf("500 body leaks: %s", rec.Body.String())
	}
}

type secretError struct{}

func (*secretError) Error() string { return "db password s3cret rejected" }

// limited passes r through LimitBody, as a server does.
func limited(r *http.Request, n int64) *http.Request {
	var out *http.Request
	httpx.LimitBody(n)(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) { out = req })).
		ServeHTTP(httptest.NewRecorder(), r)
	return out
}

func TestPagination(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://svc.local/api/v1/things/?page=2&page_size=10&status=OPEN", nil)
	// Links come from the configured base URL, never from what the client
	// says the host is.
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Host = "evil.example"
	r = r.WithContext(httpx.WithPublicBaseURL(r.Context(), "https://hospital.example/"))
	p, err := httpx.PageFrom(r)
	if err != nil || p.Page != 2 || p.Size != 10 || p.Offset() != 10 {
		t.Fatalf("params %+v %v", p, err)
	}
	page, err := httpx.NewPage(r, p, 25, []int{11, 12})
	if err != nil || page.Count != 25 || page.Next == nil || page.Previous == nil {
		t.Fatalf("page = %+v %v", page, err)
	}
	if *page.Next != "https://hospital.example/api/v1/things/?page=3&page_size=10&status=OPEN" {
		t.Fatalf("next = %s", *page.Next)
	}
	if *page.Previous != "https://hospital.example/api/v1/things/?page_size=10&status=OPEN" {
		t.Fatalf("previous = %s", *page.Previous)
	}
	last, err := httpx.NewPage(httptest.NewRequest(http.MethodGet, "/x/?page=3&page_size=10", nil), httpx.PageParams{Page: 3, Size: 10}, 25, []int{21})
	if err != nil || last.Next != nil || *last.Previous != "/x/?page=2&page_size=10" {
		t.Fatalf("last page %+v %v", last, err)
	}
	// Past the end is DRF's 404, on every list alike; an empty first page is not.
	if _, err := httpx.NewPage(r, httpx.PageParams{Page: 4, Size: 10}, 25, []int(nil)); !apperr.Is(err, apperr.KindNotFound) {
		t.Fatalf("page past the end: %v", err)
	}
	if first, err := httpx.NewPage(r, httpx.PageParams{Page: 1, Size: 10}, 0, []int(nil)); err != nil || first.Results == nil {
		t.Fatalf("empty first page: %+v %v", first, err)
	}
	for _, q := range []string{"page=0", "page=abc", "page_size=-1", "page=922337203685477581", "page=99999999999999999999"} {
		if _, err := httpx.PageFrom(httptest.NewRequest(http.MethodGet, "/x/?"+q, nil)); err == nil {
			t.Errorf("%s accepted", q)
		}
	}
	if p, _ := httpx.PageFrom(httptest.NewRequest(http.MethodGet, "/x/?page_size=100000", nil)); p.Size != httpx.MaxPageSize {
		t.Errorf("page_size not capped: %d", p.Size)
	}
}

func TestQueryParams(t *testing.T) {
	req := func(q string) *http.Request { return httptest.NewRequest(http.MethodGet, "/x/?"+q, nil) }
	for q, want := range map[string]bool{"a=true": true, "a=1": true, "a=False": false, "a=0": false} {
		b, err := httpx.BoolQuery(req(q), "a")
		if err != nil || b == nil || *b != want {
			t.Errorf("%s: %v %v", q, b, err)
		}
	}
	if b, err := httpx.BoolQuery(req(""), "a"); b != nil || err != nil {
		t.Errorf("absent: %v %v", b, err)
	}
	if _, err := httpx.BoolQuery(req("a=yes"), "a"); !apperr.Is(err, apperr.KindInvalid) {
		t.Errorf("a=yes: %v", err)
	}
	for _, q := range []string{"d=0001-01-01", "d=9999-12-31", "d=2024-02-30", "d=tomorrow"} {
		if _, err := httpx.DateQuery(req(q), "d", time.UTC); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("%s: %v", q, err)
		}
	}
	if d, err := httpx.DateQuery(req("d=2026-11-30"), "d", time.UTC); err != nil || d.Day() != 30 {
		t.Errorf("valid date: %v %v", d, err)
	}
	if _, err := httpx.IntQuery(req("n=9223372036854775808"), "n", 0, 100); err == nil {
		t.Error("overflowing int accepted")
	}
}

func TestDecodeOptional(t *testing.T) {
	var p payload
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := httpx.DecodeOptional(r, &struct{}{}); err != nil {
		t.Fatalf("empty body: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"x"}`))
	if err := httpx.DecodeOptional(r, &p); err != nil || p.Name != "x" {
		t.Fatalf("body: %v %+v", err, p)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"nme":"x"}`))
	if err := httpx.DecodeOptional(r, &p); err == nil {
		t.Fatal("unknown field accepted")
	}
}

type order struct {
	Note  *string          `json:"note"`
	Items []orderItem      `json:"items"`
	Extra map[string]any   `json:"extra"`
	Raw   json.RawMessage  `json:"raw"`
	Tags  map[string][]int `json:"tags"`
}

type orderItem struct {
	Code string `json:"code"`
}

// U+0000 is valid JSON but no store takes it (PostgreSQL refuses it under
// FerretDB): a 400 naming the field, wherever it hides in the body.
func TestDecodeRefusesNULInText(t *testing.T) {
	for body, field := range map[string]string{
		`{"note":"a\u0000b"}`:                        "note",
		`{"items":[{"code":"x"},{"code":"\u0000"}]}`: "items[1].code",
		`{"extra":{"k":["ok","bad\u0000"]}}`:         "extra.k[1]",
		`{"tags":{"a\u0000":[1]}}`:                   "tags",
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		var o order
		prob, ok := problem.FromError(httpx.Decode(r, &o))
		if !ok || prob.Status != http.StatusBadRequest || len(prob.Errors[field]) == 0 {
			t.Errorf("%s: %+v, want a 400 on %q", body, prob, field)
		}
	}
	// Raw JSON kept as it is, and ordinary text, pass.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"note":"Đau đầu \\u0000 là văn bản","raw":{"v":"\u0000"}}`))
	var o order
	if err := httpx.Decode(r, &o); err != nil || *o.Note != `Đau đầu \u0000 là văn bản` {
		t.Fatalf("plain text: %+v %v", o, err)
	}
}

func TestTextQuery(t *testing.T) {
	for q, want := range map[string]int{
		"?search=para": 0, "?search=Thu%E1%BB%91c": 0, "": 0,
		"?search=a%00b": 400, "?search=%ff%fe": 400, "?search=" + strings.Repeat("x", 201): 400,
	} {
		r := httptest.NewRequest(http.MethodGet, "/"+q, nil)
		_, err := httpx.TextQuery(r, "search", 200)
		got := 0
		if prob, ok := problem.FromError(err); ok && err != nil {
			got = prob.Status
		}
		if got != want {
			t.Errorf("%s: status %d, want %d (%v)", q, got, want, err)
		}
	}
}
