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
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
	"hospital/svc/appointment/httpapi"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// server is the appointment API over HTTP, as the service serves it, with
// tokens signed by a key of the test's own.
type server struct {
	*bt.Env
	t      *testing.T
	signer *auth.Signer
	url    string
}

func newServer(t *testing.T, cfg *booking.Config) *server {
	t.Helper()
	e := bt.New(t, cfg)
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

// token signs id as the tests know them; role overrides their role.
func (s *server) token(id auth.Identity) string {
	s.t.Helper()
	tok, err := s.signer.Sign(id, time.Hour, fmt.Sprintf("jti-%d-%s-%d", id.UserID, id.Service, time.Now().UnixNano()))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// user is the identity of a test user, with the role the tests gave them.
func (s *server) user(id int64) auth.Identity {
	return auth.Identity{UserID: id, Role: s.Role(id), Username: fmt.Sprintf("u%d", id)}
}

type resp struct {
	status int
	raw    []byte
	body   map[string]any
	ctype  string
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

func (r resp) id() int64 { f, _ := r.body["id"].(float64); return int64(f) }

// do calls the API with token ("" for none); body is JSON, or a string sent as is.
func (s *server) do(method, path, token string, body any) resp {
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

// as calls the API as test user id.
func (s *server) as(id int64, method, path string, body any) resp {
	s.t.Helper()
	return s.do(method, path, s.token(s.user(id)), body)
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

func (s *server) book(patient, doctor int64, at string) resp {
	s.t.Helper()
	return s.as(patient, http.MethodPost, "/api/v1/appointments/", map[string]any{"doctor_id": doctor, "appointment_time": at, "reason_for_visit": "Đau đầu"})
}
