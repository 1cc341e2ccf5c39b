package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	var p payload
	err := httpx.Decode(httptest.NewRecorder(), r, &p)
	if err == nil {
		return p, nil
	}
	prob, ok := problem.As(err)
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
		return problem.Field("email", "Enter a valid email address.")
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

func TestPagination(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://svc.local/api/v1/things/?page=2&page_size=10&status=OPEN", nil)
	r.Header.Set("X-Forwarded-Host", "hospital.example")
	r.Header.Set("X-Forwarded-Proto", "https")
	p, err := httpx.PageFrom(r)
	if err != nil || p.Page != 2 || p.Size != 10 || p.Offset() != 10 {
		t.Fatalf("params %+v %v", p, err)
	}
	page := httpx.NewPage(r, p, 25, []int{11, 12})
	if page.Count != 25 || page.Next == nil || page.Previous == nil {
		t.Fatalf("page = %+v", page)
	}
	if *page.Next != "https://hospital.example/api/v1/things/?page=3&page_size=10&status=OPEN" {
		t.Fatalf("next = %s", *page.Next)
	}
	if *page.Previous != "https://hospital.example/api/v1/things/?page_size=10&status=OPEN" {
		t.Fatalf("previous = %s", *page.Previous)
	}
	last := httpx.NewPage(httptest.NewRequest(http.MethodGet, "/x/?page=3&page_size=10", nil), httpx.PageParams{Page: 3, Size: 10}, 25, []int{21})
	if last.Next != nil {
		t.Fatal("last page has a next link")
	}
	for _, q := range []string{"page=0", "page=abc", "page_size=-1"} {
		if _, err := httpx.PageFrom(httptest.NewRequest(http.MethodGet, "/x/?"+q, nil)); err == nil {
			t.Errorf("%s accepted", q)
		}
	}
	if p, _ := httpx.PageFrom(httptest.NewRequest(http.MethodGet, "/x/?page_size=100000", nil)); p.Size != httpx.MaxPageSize {
		t.Errorf("page_size not capped: %d", p.Size)
	}
}
