// Package e2e runs the platform as it runs in production: every service its
// own process, registered in a real Consul agent, on a real MariaDB, and
// drives it only through the gateway, as a client would.
package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

const (
	adminUser = "root-admin"
	adminPass = "Adm1n-pass-e2e"
	// patientPass is every registered patient's first password.
	patientPass = "Blue-Lotus-2026"
	// staffPass is every staff account's password (none may contain its
	// username: the password policy refuses that).
	staffPass = "Quiet-Mango-Harbor-81"
)

type platform struct {
	consul  *testkit.Consul
	db      *sql.DB
	user    *testkit.Service
	gateway *testkit.Service
	gw      string
	// contract validates every exchange against the services' OpenAPI
	// documents (openapi_test.go).
	contract *contract
}

// startPlatform starts Consul, a fresh database, the user service and the
// gateway, and waits until the gateway routes to the user service.
func startPlatform(t testing.TB, extraEnv ...string) *platform {
	t.Helper()
	p := &platform{consul: testkit.StartConsul(t)}
	p.contract = newContract(p.consul.Client)
	p.contract.log = t.Logf
	user := testkit.StartUserService(t, p.consul, "notification=e2e-notification-secret",
		append([]string{"BOOTSTRAP_ADMIN_USERNAME=" + adminUser, "BOOTSTRAP_ADMIN_PASSWORD=" + adminPass}, extraEnv...)...)
	p.user = user.Service
	db, err := mysqldb.Open(context.Background(), user.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p.db = db
	p.gateway = testkit.StartService(t, p.consul, "gateway", testkit.Build(t, "hospital/svc/gateway"),
		append([]string{"RATE_LIMIT_PER_MINUTE=100000", "RATE_LIMIT_BURST=100000"}, extraEnv...)...)
	p.gw = p.gateway.URL
	p.waitRouted(t)
	return p
}

// waitRouted waits until the gateway has learnt the user service's routes.
func (p *platform) waitRouted(t testing.TB) {
	t.Helper()
	err := testkit.Until(context.Background(), 30*time.Second, p.gateway.Proc, func(ctx context.Context) error {
		r := p.do(t, http.MethodGet, "/api/v1/users/.well-known/jwks.json", "", nil, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("jwks through gateway: %d %s", r.status, r.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r result) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// do sends a request to the gateway. body may be a string (sent raw) or a
// value (sent as JSON). The request and its answer must match the OpenAPI
// document of the service that serves it (see contract): a test that sends
// bad input on purpose uses doInvalid.
func (p *platform) do(t testing.TB, method, path, token string, body any, header map[string]string) result {
	t.Helper()
	return p.send(t, false, method, path, token, body, header)
}

// doInvalid is do for deliberate bad input (malformed bodies, unknown
// paths, wrong methods): the request is not checked against the document,
// and the answer must be a 4xx problem+json (and match the document where
// the operation exists).
func (p *platform) doInvalid(t testing.TB, method, path, token string, body any, header map[string]string) result {
	t.Helper()
	return p.send(t, true, method, path, token, body, header)
}

func (p *platform) send(t testing.TB, invalid bool, method, path, token string, body any, header map[string]string) result {
	t.Helper()
	rd := testkit.Body(t, body)
	var sent []byte
	if rd != nil {
		sent, _ = io.ReadAll(rd)
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, p.gw+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	if p.contract != nil {
		ex := exchange{method: method, path: path, header: req.Header, body: sent,
			status: resp.StatusCode, respHeader: resp.Header, respBody: raw}
		if err := p.contract.check(context.Background(), ex, invalid); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// expect fails the test unless r has the status; problems must be problem+json.
func expect(t testing.TB, what string, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	if status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: content-type %q, want application/problem+json", what, ct)
		}
		if r.str("detail") == "" {
			t.Fatalf("%s: problem without detail: %s", what, r.raw)
		}
	}
}

func (p *platform) login(t testing.TB, username, password string) (access, refresh string) {
	t.Helper()
	r := p.do(t, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": username, "password": password}, nil)
	expect(t, "login "+username, r, http.StatusOK)
	return r.str("access_token"), r.str("refresh_token")
}

func (p *platform) register(t testing.TB, username string) result {
	t.Helper()
	r := p.do(t, http.MethodPost, "/api/v1/users/register/", "", map[string]any{
		"username": username, "password": patientPass, "email": username + "@patients.test",
		"first_name": "Test", "last_name": "Patient", "role_name": "PATIENT",
	}, nil)
	expect(t, "register "+username, r, http.StatusCreated)
	return r
}

func (p *platform) countUsers(t testing.TB) int {
	t.Helper()
	var n int
	if err := p.db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
