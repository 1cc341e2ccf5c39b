// Package billingtest is what the billing service's tests share: the real
// user service with the people the tests act as, a billing domain over a
// fresh database, tokens, and a stripe-mock server.
package billingtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/billing/invoicing"
	"hospital/svc/billing/store"
)

// Secret is the billing service's client secret at the test user service;
// Password every test user's.
const (
	Secret   = "billing-test-secret"
	Password = "Blue-Lotus-2026"
)

// People are the users the tests act as, by their ids in the user service.
type People struct {
	Patient1, Patient2 int64
	Doctor, Nurse      int64
	Admin              int64
	Provider1          int64 // INSURANCE_PROVIDER
	Provider2          int64
	Role               map[int64]string
}

// Users is a real user service in a Consul agent of its own.
type Users struct {
	People
	Consul *testkit.Consul
	Svc    *testkit.UserService
}

// SharedUsers is started by the first test that needs it.
var SharedUsers = testkit.SharedOnce(startUsers)

func startUsers(t testing.TB) *Users {
	u := &Users{Consul: testkit.StartConsul(t)}
	u.Role = map[int64]string{}
	u.Svc = testkit.StartUserService(t, u.Consul, "billing="+Secret)
	admin := u.login(t, u.Svc.AdminUsername, u.Svc.AdminPassword)
	mk := func(username, role string) int64 {
		body := map[string]any{"username": username, "email": username + "@hospital.test", "password": Password,
			"first_name": "Test", "last_name": username}
		path, tok := "/api/v1/users/register/", ""
		if role != auth.RolePatient {
			body["role_name"], path, tok = role, "/api/v1/admin/users/", admin
		}
		var out struct {
			ID int64 `json:"id"`
		}
		if status, raw := u.call(t, http.MethodPost, path, tok, body, &out); status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", username, status, raw)
		}
		u.Role[out.ID] = role
		return out.ID
	}
	u.Patient1 = mk("billmai", auth.RolePatient)
	u.Patient2 = mk("billlan", auth.RolePatient)
	u.Doctor = mk("billdoc", auth.RoleDoctor)
	u.Nurse = mk("billnurse", auth.RoleNurse)
	u.Admin = mk("billadmin", auth.RoleAdmin)
	u.Provider1 = mk("baoviet", auth.RoleInsuranceProvider)
	u.Provider2 = mk("prudential", auth.RoleInsuranceProvider)
	return u
}

func (u *Users) call(t testing.TB, method, path, token string, body, out any) (int, []byte) {
	t.Helper()
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u.Svc.URL+path, bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, raw
}

func (u *Users) login(t testing.TB, username, password string) string {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": username, "password": password}, &out); status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, status, raw)
	}
	return out.AccessToken
}

// Env is one billing domain over a fresh database.
type Env struct {
	People
	DB     *sql.DB
	Store  *store.Store
	Svc    *invoicing.Service
	Signer *auth.Signer
	Clock  *testkit.Clock
	Users  *Users
}

// Clinic is the clinic's time zone.
var Clinic, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

// NewEnv starts a billing domain charging cards through gateway, with its
// clock at noon in the clinic on 7 December 2026.
func NewEnv(t testing.TB, gateway invoicing.PaymentGateway) *Env {
	t.Helper()
	u := SharedUsers(t)
	db, _ := testkit.NewMySQL(t, store.Migrate)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{People: u.People, DB: db, Store: store.New(db), Users: u,
		Clock: testkit.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, Clinic))}
	e.Signer = auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	rctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := svcclient.New("billing", discovery.New(rctx, u.Consul.Client, slog.Default()), svcclient.Options{})
	client.SetTokenSource(svcclient.NewClientCredentials(client, "billing", Secret))
	vnd, _ := invoicing.CurrencyFor("vnd")
	e.Svc = invoicing.New(e.Store, gateway, userapi.NewClient(client), invoicing.Options{
		Location: Clinic, DueDays: func() int { return 30 }, Currency: vnd, Now: e.Clock.Now, Logger: slog.Default(),
	})
	return e
}

// As is ctx carrying the identity of user id (with their role).
func (e *Env) As(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: e.Role[id]})
}

// AsService is ctx carrying a service token's identity.
func AsService(name string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Role: auth.RoleService, Service: name})
}

// Token signs an access token for user id (or, with id 0, the service name).
func (e *Env) Token(t testing.TB, id int64, service string) string {
	t.Helper()
	ident := auth.Identity{UserID: id, Role: e.Role[id]}
	if id == 0 {
		ident = auth.Identity{Role: auth.RoleService, Service: service}
	}
	tok, err := e.Signer.Sign(ident, time.Hour, fmt.Sprintf("t-%d-%s-%d", id, service, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Verifier checks the tokens Token signs.
func (e *Env) Verifier() *auth.Verifier {
	return auth.NewVerifier(e.Signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience)
}

// Count runs a COUNT query on the billing database.
func (e *Env) Count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
