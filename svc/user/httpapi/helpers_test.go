package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/middleware"
	"hospital/lib/problem"
	"hospital/lib/testkit"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
	"hospital/svc/user/store"
)

// logs collects every log line of the test binary, so tests can prove that
// no secret was ever logged.
var logs = &syncBuffer{}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	os.Exit(testkit.Main(m))
}

const (
	testBaseURL       = "https://hospital.example"
	testServiceSecret = "billing-secret=with=equals"
)

// sharedConsul is the one Consul agent of the test binary; each env keeps
// its revocations under a prefix of its own.
var sharedConsul = testkit.SharedOnce(testkit.StartConsul)

// env is one user service over its own fresh database, served over real
// HTTP, publishing revocations to a real Consul, where peer (another
// service's token check) follows them.
type env struct {
	t      *testing.T
	db     *sql.DB
	svc    *accounts.Service
	signer *auth.Signer
	clock  *testkit.Clock
	kicks  atomic.Int32
	url    string
	consul *testkit.Consul
	prefix string
	peer   *auth.Verifier
}

// follow returns a running revocation watcher of the env's prefix.
func (e *env) follow() *auth.Revocations {
	e.t.Helper()
	r := auth.NewRevocations(e.consul.Client, auth.RevocationOptions{Prefix: e.prefix})
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	go r.Run(ctx)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		e.t.Fatal("revocations not loaded from consul")
	}
	return r
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with options changed by set.
func newEnvWith(t *testing.T, set func(*accounts.Options)) *env {
	t.Helper()
	db, _ := testkit.NewMySQL(t, store.Migrate)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: testkit.NewClock(time.Now().UTC()), consul: sharedConsul(t),
		prefix: fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())}
	e.signer = auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	clients, err := accounts.ParseServiceClients("billing=" + testServiceSecret + ", notification = notif-secret")
	if err != nil {
		t.Fatal(err)
	}
	opts := accounts.Options{
		Signer: e.signer, ServiceClients: clients, PublicBaseURL: testBaseURL + "/",
		Now: e.clock.Now, Kick: func() { e.kicks.Add(1) }, Logger: slog.Default(),
		Publisher: auth.NewRevocationPublisher(e.consul.Client, e.prefix), Revocations: e.follow(),
	}
	if set != nil {
		set(&opts)
	}
	e.svc = accounts.New(store.New(db), opts)
	workers, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go e.svc.RunResets(workers)
	e.peer = auth.NewVerifier(e.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience,
		auth.WithCache(0), auth.WithRevocations(e.follow()))
	metrics := middleware.NewMetrics(prometheus.NewRegistry())
	h, err := httpapi.Handler(e.svc, api.Options{Verifier: e.svc.Verifier(), PublicBaseURL: testBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(middleware.Recover(middleware.RequestID(metrics.Observe(h))))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// resp is a completed HTTP exchange.
type resp struct {
	t      *testing.T
	Status int
	Header http.Header
	Body   []byte
}

func (r *resp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r *resp) want(status int) *resp {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// problem checks an error answer is problem+json with status and returns it.
func (r *resp) problem(status int) problem.Problem {
	r.t.Helper()
	r.want(status)
	if ct := r.Header.Get("Content-Type"); ct != problem.ContentType {
		r.t.Fatalf("content type %q, want %q: %s", ct, problem.ContentType, r.Body)
	}
	var p problem.Problem
	r.decode(&p)
	if p.Status != status || p.Detail == "" {
		r.t.Fatalf("bad problem body: %s", r.Body)
	}
	return p
}

// fieldError checks a 400 problem names field.
func (r *resp) fieldError(field string) problem.Problem {
	r.t.Helper()
	p := r.problem(http.StatusBadRequest)
	if len(p.Errors[field]) == 0 {
		r.t.Fatalf("no error for %q in %s", field, r.Body)
	}
	return p
}

// call sends body (a string is sent as is, anything else as JSON) with an
// optional bearer token and extra headers as name, value pairs.
func (e *env) call(method, path, token string, body any, headers ...string) *resp {
	e.t.Helper()
	rd := testkit.Body(e.t, body)
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &resp{t: e.t, Status: res.StatusCode, Header: res.Header, Body: data}
}

type obj = map[string]any

const goodPassword = "Correct-Horse-42"

func regBody(username string) obj {
	return obj{
		"username": username, "password": goodPassword, "email": username + "@example.com",
		"first_name": "Văn A", "last_name": "Nguyễn", "phone_number": "",
	}
}

// register creates a patient over HTTP.
func (e *env) register(username string) accounts.User {
	e.t.Helper()
	var u accounts.User
	e.call("POST", httpapi.PathRegister, "", regBody(username)).want(http.StatusCreated).decode(&u)
	return u
}

func (e *env) login(username, password string) accounts.TokenPair {
	e.t.Helper()
	var p accounts.TokenPair
	e.call("POST", httpapi.PathLogin, "", obj{"username": username, "password": password}).want(http.StatusOK).decode(&p)
	if p.AccessToken == "" || p.RefreshToken == "" {
		e.t.Fatalf("login answered without tokens: %+v", p)
	}
	return p
}

// admin creates (through the bootstrap path) and logs in the first ADMIN.
func (e *env) admin() (accounts.User, accounts.TokenPair) {
	e.t.Helper()
	created, err := e.svc.Bootstrap(context.Background(), "root.admin", "Copper-Kettle-2024!", "root@hospital.example")
	if err != nil || !created {
		e.t.Fatalf("bootstrap admin: created=%v err=%v", created, err)
	}
	pair := e.login("root.admin", "Copper-Kettle-2024!")
	var u accounts.User
	e.call("GET", httpapi.PathMe, pair.AccessToken, nil).want(http.StatusOK).decode(&u)
	return u, pair
}

// serviceToken obtains a SERVICE token the way other services do.
func (e *env) serviceToken() string { return e.serviceTokenOf("billing") }

// serviceTokenOf is the service token of one of the configured clients.
func (e *env) serviceTokenOf(service string) string {
	e.t.Helper()
	secret := map[string]string{"billing": testServiceSecret, "notification": "notif-secret"}[service]
	var out accounts.ServiceTokenResponse
	e.call("POST", httpapi.PathServiceToken, "", obj{"service": service, "secret": secret}).
		want(http.StatusOK).decode(&out)
	return out.AccessToken
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (e *env) rows(table string) int {
	e.t.Helper()
	return e.count("SELECT COUNT(*) FROM " + table)
}

// assertNotLogged fails if any secret appears in any log line so far.
func assertNotLogged(t *testing.T, secrets ...string) {
	t.Helper()
	all := logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(all, s) {
			t.Fatalf("a secret (%.6s...) appears in the logs", s)
		}
	}
}

// refusedByPeer waits (up to 5 s) until another service refuses tok as revoked.
func (e *env) refusedByPeer(tok string) {
	e.t.Helper()
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
		if _, err := e.peer.Verify(ctx, tok); !errors.Is(err, auth.ErrRevoked) {
			return fmt.Errorf("another service still accepts the token (%v)", err)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// acceptedByPeer checks another service accepts tok.
func (e *env) acceptedByPeer(tok string) {
	e.t.Helper()
	if _, err := e.peer.Verify(context.Background(), tok); err != nil {
		e.t.Fatalf("another service refuses a good token: %v", err)
	}
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
