// Package apitest serves a service's route table over real HTTP for its
// handler tests, the way lib/service serves it (access checks, problem
// answers, request ids, recovered panics), with tokens signed by a key of
// the test's own.
package apitest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/middleware"
)

// Server is routes on a test HTTP server; it stops when the test ends.
type Server struct {
	URL    string
	t      testing.TB
	signer *auth.Signer
}

// Serve serves routes; opts.Verifier defaults to one that accepts the
// server's own tokens.
func Serve(t testing.TB, routes []api.Route, opts api.Options) *Server {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, signer: auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)}
	if opts.Verifier == nil {
		opts.Verifier = auth.NewVerifier(s.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience)
	}
	h, err := api.Handler(routes, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(middleware.Recover(middleware.RequestID(h)))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Token signs id for an hour, with a token id of its own.
func (s *Server) Token(id auth.Identity) string {
	s.t.Helper()
	tok, err := s.signer.Sign(id, time.Hour, fmt.Sprintf("jti-%d-%s-%d", id.UserID, id.Service, time.Now().UnixNano()))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// User is a token of user id with role.
func (s *Server) User(id int64, role string) string {
	return s.Token(auth.Identity{UserID: id, Role: role, Username: fmt.Sprintf("u%d", id)})
}

// Service is a token of the named service.
func (s *Server) Service(name string) string {
	return s.Token(auth.Identity{Role: auth.RoleService, Service: name})
}

// Response is an answer, its body also read as a JSON object when it is one.
type Response struct {
	Status int
	Raw    []byte
	Body   map[string]any
	Header http.Header
}

// Str is the body's string member k ("" when absent).
func (r Response) Str(k string) string { v, _ := r.Body[k].(string); return v }

// ID is the body's numeric "id".
func (r Response) ID() int64 { f, _ := r.Body["id"].(float64); return int64(f) }

// Do calls the API with token ("" for none); body is nil, a string sent as
// it is, or a value sent as JSON; header is name, value pairs.
func (s *Server) Do(method, path, token string, body any, header ...string) Response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		js, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
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
	r := Response{Status: res.StatusCode, Raw: raw, Header: res.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// Require fails the test unless r has status; an error answer must be a
// problem+json with a detail.
func (s *Server) Require(what string, r Response, status int) Response {
	s.t.Helper()
	if r.Status != status {
		s.t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Raw)
	}
	if status >= 400 && (r.Header.Get("Content-Type") != "application/problem+json" || r.Str("detail") == "") {
		s.t.Fatalf("%s: not a problem with a detail: %s %s", what, r.Header.Get("Content-Type"), r.Raw)
	}
	return r
}
