package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/httpx"
)

// tokens maps a bearer token to the identity it stands for.
type tokens map[string]auth.Identity

func (t tokens) Verify(_ context.Context, raw string) (auth.Identity, error) {
	if id, ok := t[raw]; ok {
		return id, nil
	}
	return auth.Identity{}, auth.ErrInvalidToken
}

var ids = tokens{
	"patient": {UserID: 7, Role: auth.RolePatient},
	"doctor":  {UserID: 8, Role: auth.RoleDoctor},
	"appt":    {Role: auth.RoleService, Service: "appointment"},
	"gateway": {Role: auth.RoleService, Service: "gateway"},
}

type note struct {
	Text     string `json:"text" validate:"required,max=20"`
	Priority string `json:"priority" validate:"omitempty,oneof=LOW HIGH"`
	Count    int    `json:"count" validate:"gte=0,lte=5"`
}

type noteOut struct {
	ID       int64      `json:"id"`
	Text     string     `json:"text"`
	Tag      *string    `json:"tag"`
	Meta     string     `json:"meta,omitempty"`
	Created  time.Time  `json:"created"`
	Reminded *time.Time `json:"reminded"`
}

func routes() []api.Route {
	ok := func(w http.ResponseWriter, r *http.Request) error {
		httpx.WriteJSON(w, http.StatusOK, noteOut{ID: 1, Text: "x"})
		return nil
	}
	create := func(w http.ResponseWriter, r *http.Request) error {
		var in note
		if err := httpx.Decode(r, &in); err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusCreated, noteOut{ID: 2, Text: in.Text})
		return nil
	}
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/notes/public/", Summary: "Read the public note.", Access: api.Public(), Handler: ok, Response: noteOut{}},
		{Method: http.MethodGet, Path: "/api/v1/notes/{note_id:[0-9]+}/", Summary: "Read a note.", Access: api.Roles(auth.RoleDoctor).OrServices("appointment"), Handler: ok, Response: noteOut{}, Timeout: 3 * time.Second},
		{Method: http.MethodPost, Path: "/api/v1/notes/", Summary: "Write a note.", Access: api.AnyUser(), Handler: create, Request: note{}, Response: noteOut{}, Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: http.MethodPost, Path: "/api/v1/notes/internal/sync/", Summary: "Sync.", Access: api.Services("appointment"), Handler: ok},
	}
}

func serve(t *testing.T, h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAccessIsCheckedBeforeTheHandler(t *testing.T) {
	h, err := api.Handler(routes(), api.Options{Verifier: ids})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/api/v1/notes/public/", "", "", 200},
		{"GET", "/api/v1/notes/public/", "forged", "", 401},
		{"GET", "/api/v1/notes/3/", "", "", 401},
		{"GET", "/api/v1/notes/3/", "patient", "", 403},
		{"GET", "/api/v1/notes/3/", "doctor", "", 200},
		{"GET", "/api/v1/notes/3/", "appt", "", 200},
		{"GET", "/api/v1/notes/3/", "gateway", "", 403},
		{"GET", "/api/v1/notes/abc/", "doctor", "", 404},
		{"POST", "/api/v1/notes/", "patient", `{"text":"hi"}`, 201},
		// A service token is not a user: AnyUser does not admit it.
		{"POST", "/api/v1/notes/", "appt", `{"text":"hi"}`, 403},
		// Refused before the body is read: the anonymous caller learns nothing about it.
		{"POST", "/api/v1/notes/", "", `{"bad json`, 401},
		{"POST", "/api/v1/notes/", "patient", `{"bad json`, 400},
		{"POST", "/api/v1/notes/internal/sync/", "doctor", "", 403},
		{"POST", "/api/v1/notes/internal/sync/", "gateway", "", 403},
		{"POST", "/api/v1/notes/internal/sync/", "appt", "", 200},
		{"DELETE", "/api/v1/notes/3/", "doctor", "", 405},
	}
	for _, c := range cases {
		rec := serve(t, h, c.method, c.path, c.token, c.body)
		if rec.Code != c.want {
			t.Errorf("%s %s as %q: %d, want %d: %s", c.method, c.path, c.token, rec.Code, c.want, rec.Body)
		}
		if c.want >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: error without problem+json", c.method, c.path)
		}
	}
}

func TestCheckRefusesUnsafeTables(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	bad := map[string][]api.Route{
		"internal open to users": {{Method: "POST", Path: "/api/v1/x/internal/y/", Access: api.Roles(auth.RoleAdmin).OrServices("a"), Handler: h}},
		"internal public":        {{Method: "POST", Path: "/api/v1/x/internal/y/", Access: api.Public(), Handler: h}},
		"no access":              {{Method: "GET", Path: "/api/v1/x/", Handler: h}},
		"no handler":             {{Method: "GET", Path: "/api/v1/x/", Access: api.Public()}},
		"twice":                  {{Method: "GET", Path: "/api/v1/x/", Access: api.Public(), Handler: h}, {Method: "GET", Path: "/api/v1/x/", Access: api.AnyUser(), Handler: h}},
	}
	for name, rs := range bad {
		if err := api.Check(rs); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := api.Handler(rs, api.Options{Verifier: ids}); err == nil {
			t.Errorf("%s: served", name)
		}
	}
	if err := api.Check(routes()); err != nil {
		t.Fatal(err)
	}
}

func TestGatewayRoutesAreExactAndSkipInternal(t *testing.T) {
	got := api.GatewayRoutes(routes())
	if len(got) != 3 {
		t.Fatalf("routes %+v", got)
	}
	byPattern := map[string]int{}
	for i, r := range got {
		byPattern[r.Pattern] = i
		if strings.Contains(r.Pattern, "internal") || strings.Contains(r.Pattern, "*") {
			t.Errorf("advertised %q", r.Pattern)
		}
	}
	pub := got[byPattern["/api/v1/notes/public/"]]
	if !pub.IsPublic(http.MethodGet) {
		t.Errorf("public route not public: %+v", pub)
	}
	byID, ok := byPattern["/api/v1/notes/{}/"]
	if !ok || got[byID].Timeout != 3*time.Second || got[byID].IsPublic(http.MethodGet) {
		t.Errorf("note route %+v", got)
	}
}

// The document is valid OpenAPI and describes what the handler does: a real
// request and its real answer validate against it, and a drifted answer
// does not.
func TestDocumentDescribesTheHandler(t *testing.T) {
	doc, err := api.Document(api.Info{Title: "notes"}, routes())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	raw, _ := json.Marshal(doc)
	for _, want := range []string{`"x-access":"DOCTOR; service appointment"`, `"maxLength":20`, `"enum":["LOW","HIGH"]`, `"additionalProperties":false`,
		`"created":{"format":"date-time","type":"string"}`, `"reminded":{"format":"date-time","nullable":true,"type":"string"}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("document lacks %s", want)
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := api.Handler(routes(), api.Options{Verifier: ids})

	// validate sends body to the handler and checks both directions;
	// rewrite, when set, changes the answer before it is checked.
	validate := func(body string, rewrite func(b []byte) []byte) error {
		newReq := func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "http://svc/api/v1/notes/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer patient")
			return req
		}
		req := newReq()
		route, params, err := router.FindRoute(req)
		if err != nil {
			return err
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request: %w", err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newReq())
		out := rec.Body.Bytes()
		if rewrite != nil {
			out = rewrite(out)
		}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(out)),
		})
		if err != nil {
			return fmt.Errorf("response: %w", err)
		}
		return nil
	}
	if err := validate(`{"text":"hello","priority":"HIGH"}`, nil); err != nil {
		t.Fatalf("a real exchange does not match the document: %v", err)
	}
	if err := validate(`{"text":"hello","priority":"URGENT"}`, nil); err == nil || !strings.Contains(err.Error(), "request") {
		t.Fatalf("an out-of-enum request passed: %v", err)
	}
	if err := validate(`{"text":"hello","colour":"red"}`, nil); err == nil {
		t.Fatal("an unknown field passed")
	}
	dropID := func(b []byte) []byte { return bytes.Replace(b, []byte(`"id":2,`), nil, 1) }
	if err := validate(`{"text":"hello"}`, dropID); err == nil || !strings.Contains(err.Error(), "response") {
		t.Fatalf("an answer without a required field passed: %v", err)
	}
}

func TestTableAndREADMECheck(t *testing.T) {
	table := api.Table(routes())
	if !strings.Contains(table, "| GET | `/api/v1/notes/{note_id}/` | DOCTOR; service appointment | Read a note. |") {
		t.Fatalf("table:\n%s", table)
	}
	dir := t.TempDir()
	path := dir + "/README.md"
	_ = os.WriteFile(path, []byte("# notes\n"), 0o644)
	err := api.CheckREADME(path, routes())
	if err == nil {
		t.Fatal("a README without the table passed")
	}
	block := err.Error()[strings.Index(err.Error(), "<!--"):]
	_ = os.WriteFile(path, []byte("# notes\n\n"+block), 0o644)
	if err := api.CheckREADME(path, routes()); err != nil {
		t.Fatal(err)
	}
}

// A database outage is a 503 with Retry-After, not a 500; other failures
// stay 500.
func TestStoreDownIsUnavailable(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:3306: connect: connection refused")
	h, err := api.Handler([]api.Route{
		{Method: "GET", Path: "/api/v1/x/", Summary: "x", Access: api.Public(), Handler: func(http.ResponseWriter, *http.Request) error {
			return fmt.Errorf("load x: %w", down)
		}},
		{Method: "GET", Path: "/api/v1/y/", Summary: "y", Access: api.Public(), Handler: func(http.ResponseWriter, *http.Request) error {
			return errors.New("bug")
		}},
	}, api.Options{StoreDown: func(err error) bool { return errors.Is(err, down) }})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(t, h, "GET", "/api/v1/x/", "", "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("store down: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve(t, h, "GET", "/api/v1/y/", "", ""); rec.Code != http.StatusInternalServerError {
		t.Fatalf("bug: %d", rec.Code)
	}
}
