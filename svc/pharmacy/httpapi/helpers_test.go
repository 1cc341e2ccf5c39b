package httpapi_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/middleware"
	"hospital/lib/testkit"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
	"hospital/svc/pharmacy/httpapi"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// server is the pharmacy API over HTTP, as the service serves it, with
// tokens signed by a key of the test's own.
type server struct {
	*dt.Env
	t      *testing.T
	signer *auth.Signer
	url    string
}

func newServer(t *testing.T) *server {
	t.Helper()
	e := dt.New(t, nil)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Env: e, t: t, signer: auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)}
	h, err := api.Handler(httpapi.Routes(e.Svc), api.Options{
		Verifier: auth.NewVerifier(s.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(middleware.Recover(middleware.RequestID(h)))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *server) token(id auth.Identity) string {
	s.t.Helper()
	tok, err := s.signer.Sign(id, time.Hour, fmt.Sprintf("jti-%d-%s-%d", id.UserID, id.Service, time.Now().UnixNano()))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *server) user(id int64) string {
	return s.token(auth.Identity{UserID: id, Role: s.Role(id), Username: fmt.Sprintf("u%d", id)})
}

func (s *server) service(name string) string {
	return s.token(auth.Identity{Role: auth.RoleService, Service: name})
}

type resp struct {
	status int
	raw    []byte
	body   map[string]any
	ctype  string
}

func (r resp) str(k string) string { v, _ := r.body[k].(string); return v }

// do calls the API with token ("" for none); body is JSON, or a string sent as is.
func (s *server) do(method, path, token string, body any, header ...string) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: raw, ctype: res.Header.Get("Content-Type")}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (s *server) expect(what string, r resp, status int) resp {
	s.t.Helper()
	if r.status != status {
		s.t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	if status >= 400 && (r.ctype != "application/problem+json" || r.str("detail") == "") {
		s.t.Fatalf("%s: not a problem with a detail: %s %s", what, r.ctype, r.raw)
	}
	return r
}
