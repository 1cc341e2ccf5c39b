package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
)

func TestUserJourneyThroughGateway(t *testing.T) {
	p := startPlatform(t)

	reg := p.register(t, "lan")
	if reg.str("role") != "PATIENT" || reg.body["password"] != nil {
		t.Fatalf("registered user = %s", reg.raw)
	}
	access, refresh := p.login(t, "lan", patientPass)

	me := p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil)
	expect(t, "me", me, http.StatusOK)
	if me.str("username") != "lan" || me.str("email") != "lan@patients.test" {
		t.Fatalf("me = %s", me.raw)
	}

	// A new email needs the current password and takes effect when the
	// link sent to it is followed, through the page it opens.
	expect(t, "email without password", p.do(t, http.MethodPut, "/api/v1/users/me/", access, map[string]any{
		"email": "lan.nguyen@patients.test"}, nil), http.StatusBadRequest)
	upd := p.do(t, http.MethodPut, "/api/v1/users/me/", access, map[string]any{
		"first_name": "Lan", "last_name": "Nguyen", "email": "lan.nguyen@patients.test", "current_password": patientPass,
	}, nil)
	expect(t, "update me", upd, http.StatusOK)
	if upd.str("email") != "lan@patients.test" || upd.str("pending_email") != "lan.nguyen@patients.test" {
		t.Fatalf("email changed before its link was followed: %s", upd.raw)
	}
	token := p.emailChangeToken(t, "lan.nguyen@patients.test")
	page := p.do(t, http.MethodGet, "/api/v1/users/email/confirm/page/?token="+token, "", nil, nil)
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		page.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("confirmation page through the gateway: %d %v", page.status, page.header)
	}
	expect(t, "confirm email", p.do(t, http.MethodPost, "/api/v1/users/email/confirm/", "", map[string]string{"token": token}, nil), http.StatusOK)
	me = p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil)
	if me.str("first_name") != "Lan" || me.str("email") != "lan.nguyen@patients.test" || me.body["email_verified"] != true {
		t.Fatalf("update not persisted: %s", me.raw)
	}
	// Nobody promotes themself.
	expect(t, "self-promotion", p.do(t, http.MethodPut, "/api/v1/users/me/", access, map[string]any{"role": "ADMIN"}, nil), http.StatusBadRequest)

	ref := p.do(t, http.MethodPost, "/api/v1/users/token/refresh/", "", map[string]string{"refresh_token": refresh}, nil)
	expect(t, "refresh", ref, http.StatusOK)
	access2 := ref.str("access_token")
	if access2 == "" || access2 == access {
		t.Fatalf("refresh gave no new access token: %s", ref.raw)
	}
	if rotated := ref.str("refresh_token"); rotated != "" {
		refresh = rotated
	}

	ver := p.do(t, http.MethodPost, "/api/v1/users/token/verify/", "", map[string]string{"token": access2}, nil)
	expect(t, "verify", ver, http.StatusOK)
	if ver.str("username") != "lan" {
		t.Fatalf("verify = %s", ver.raw)
	}
	expect(t, "verify garbage", p.do(t, http.MethodPost, "/api/v1/users/token/verify/", "", map[string]string{"token": access2 + "x"}, nil), http.StatusUnauthorized)

	chg := p.do(t, http.MethodPost, "/api/v1/users/password/change/", access2, map[string]string{
		"old_password": patientPass, "new_password": "N3w-secret-lan",
	}, nil)
	if chg.status != http.StatusOK && chg.status != http.StatusNoContent {
		t.Fatalf("password change: %d %s", chg.status, chg.raw)
	}
	expect(t, "old password after change",
		p.do(t, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": "lan", "password": patientPass}, nil),
		http.StatusUnauthorized)
	// Changing the password ends other sessions.
	expect(t, "refresh after password change",
		p.do(t, http.MethodPost, "/api/v1/users/token/refresh/", "", map[string]string{"refresh_token": refresh}, nil),
		http.StatusUnauthorized)

	// Logout without a body (the spec makes it optional) ends the session.
	access4, _ := p.login(t, "lan", "N3w-secret-lan")
	expect(t, "logout without a body", p.do(t, http.MethodPost, "/api/v1/users/logout/", access4, nil, nil), http.StatusNoContent)
	expect(t, "me after logout", p.do(t, http.MethodGet, "/api/v1/users/me/", access4, nil, nil), http.StatusUnauthorized)

	access3, refresh3 := p.login(t, "lan", "N3w-secret-lan")
	out := p.do(t, http.MethodPost, "/api/v1/users/logout/", access3, map[string]string{"refresh_token": refresh3}, nil)
	if out.status != http.StatusNoContent && out.status != http.StatusOK {
		t.Fatalf("logout: %d %s", out.status, out.raw)
	}
	expect(t, "refresh after logout",
		p.do(t, http.MethodPost, "/api/v1/users/token/refresh/", "", map[string]string{"refresh_token": refresh3}, nil),
		http.StatusUnauthorized)
}

// emailChangeToken is the token of the link sent to address, read from the
// user service's outbox (the notification service is not running here).
func (p *platform) emailChangeToken(t *testing.T, address string) string {
	t.Helper()
	var body []byte
	err := p.db.QueryRow(`SELECT body FROM outbox_messages WHERE idempotency_key LIKE 'email-change-requested:%'
		AND body LIKE ? ORDER BY id DESC LIMIT 1`, "%"+address+"%").Scan(&body)
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(msg.Data["confirmation_link"])
	if err != nil || link.Query().Get("token") == "" {
		t.Fatalf("confirmation link %q", msg.Data["confirmation_link"])
	}
	return link.Query().Get("token")
}

func TestObjectLevelAuthorizationThroughGateway(t *testing.T) {
	p := startPlatform(t)
	a := p.register(t, "patienta")
	b := p.register(t, "patientb")
	tokA, _ := p.login(t, "patienta", patientPass)
	idB := strconv.Itoa(int(b.body["id"].(float64)))
	idA := strconv.Itoa(int(a.body["id"].(float64)))

	for _, path := range []string{
		"/api/v1/admin/users/" + idB + "/",
		"/api/v1/admin/users/" + idB + "/contact-info/",
		"/api/v1/admin/users/" + idA + "/contact-info/",
		"/api/v1/admin/users/",
	} {
		expect(t, "patient GET "+path, p.do(t, http.MethodGet, path, tokA, nil, nil), http.StatusForbidden)
	}
	expect(t, "no token on admin", p.do(t, http.MethodGet, "/api/v1/admin/users/"+idB+"/", "", nil, nil), http.StatusUnauthorized)
	expect(t, "patient creates staff", p.do(t, http.MethodPost, "/api/v1/admin/users/", tokA, map[string]any{
		"username": "fake-doc", "password": "Str0ng-fake-doc", "email": "fake@x.test", "role_name": "DOCTOR",
	}, nil), http.StatusForbidden)
	expect(t, "self-registration as doctor", p.do(t, http.MethodPost, "/api/v1/users/register/", "", map[string]any{
		"username": "selfdoc", "password": "Str0ng-selfdoc", "email": "selfdoc@x.test", "role_name": "DOCTOR",
	}, nil), http.StatusForbidden)

	admin, _ := p.login(t, adminUser, adminPass)
	got := p.do(t, http.MethodGet, "/api/v1/admin/users/"+idB+"/contact-info/", admin, nil, nil)
	expect(t, "admin contact-info", got, http.StatusOK)
	if got.str("email") != "patientb@patients.test" {
		t.Fatalf("contact info = %s", got.raw)
	}
	doc := p.do(t, http.MethodPost, "/api/v1/admin/users/", admin, map[string]any{
		"username": "drtran", "password": "Brass-Compass-58", "email": "drtran@hospital.test", "role_name": "DOCTOR",
		"first_name": "Tran", "last_name": "B",
	}, nil)
	expect(t, "admin creates doctor", doc, http.StatusCreated)
	if doc.str("role") != "DOCTOR" || doc.body["is_staff"] != true {
		t.Fatalf("doctor = %s", doc.raw)
	}
}

func TestGatewayRefusesInternalAndUnknownPaths(t *testing.T) {
	p := startPlatform(t)
	// Even with valid credentials for a service, /internal/ is not reachable from outside.
	r := p.doInvalid(t, http.MethodPost, "/api/v1/users/internal/service-token/", "",
		map[string]string{"service": "notification", "secret": "e2e-notification-secret"}, nil)
	expect(t, "internal path", r, http.StatusNotFound)
	if r.str("access_token") != "" {
		t.Fatal("internal endpoint answered through the gateway")
	}
	admin, _ := p.login(t, adminUser, adminPass)
	expect(t, "internal path with token", p.doInvalid(t, http.MethodPost, "/api/v1/users/internal/service-token/", admin, map[string]string{}, nil), http.StatusNotFound)
	expect(t, "unknown route", p.doInvalid(t, http.MethodGet, "/api/v1/nothing-here/", admin, nil, nil), http.StatusNotFound)
	expect(t, "no token", p.do(t, http.MethodGet, "/api/v1/users/me/", "", nil, nil), http.StatusUnauthorized)
	expect(t, "forged token", p.do(t, http.MethodGet, "/api/v1/users/me/", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", nil, nil), http.StatusUnauthorized)
}

func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	p := startPlatform(t)
	before := p.countUsers(t)
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"malformed JSON", `{"username": "x", "password": `, http.StatusBadRequest},
		{"wrong types", `{"username": 12, "password": true, "email": ["a"]}`, http.StatusBadRequest},
		{"unknown field", `{"username":"u1","password":"Str0ng-pass1","email":"u1@x.test","is_staff":true}`, http.StatusBadRequest},
		{"missing fields", `{}`, http.StatusBadRequest},
		{"bad email", `{"username":"u2","password":"Str0ng-pass2","email":"not-an-email"}`, http.StatusBadRequest},
		{"oversized body", `{"username":"` + strings.Repeat("a", 11<<20) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, c.name, p.doInvalid(t, http.MethodPost, "/api/v1/users/register/", "", c.body, nil), c.status)
		})
	}
	if after := p.countUsers(t); after != before {
		t.Fatalf("bad input wrote users: %d before, %d after", before, after)
	}
	// The same body once more, well-formed, does write: the count above could change.
	p.register(t, "wellformed")
	if after := p.countUsers(t); after != before+1 {
		t.Fatalf("users %d, want %d", after, before+1)
	}
}

func TestUserServiceOutageAndRecovery(t *testing.T) {
	p := startPlatform(t)
	p.register(t, "binh")
	access, _ := p.login(t, "binh", patientPass)
	expect(t, "me before outage", p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil), http.StatusOK)

	p.user.Kill()
	start := time.Now()
	r := p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil)
	elapsed := time.Since(start)
	expect(t, "me during outage", r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// "Fast" means the gateway did not wait for its route timeout (10s).
	if elapsed > 5*time.Second {
		t.Fatalf("503 took %s", elapsed)
	}
	// Tokens are verified at the gateway with the cached key set: the
	// outage is reported as an outage, not as a bad token.
	for range 5 {
		expect(t, "me during outage (repeated)", p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil), http.StatusServiceUnavailable)
	}

	p.user.Restart(t, p.consul)
	err := testkit.Until(context.Background(), 60*time.Second, nil, func(ctx context.Context) error {
		r := p.do(t, http.MethodGet, "/api/v1/users/me/", access, nil, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("me after restart: %d %s", r.status, r.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("gateway did not recover by itself: %v", err)
	}
}

// The reset link's page works through the gateway, and a patient finds a
// doctor to book while staff find patients.
func TestUserResetPageAndDirectoryThroughGateway(t *testing.T) {
	p := startPlatform(t)
	reg := p.register(t, "thu")
	expect(t, "reset request", p.do(t, http.MethodPost, "/api/v1/users/password/reset/", "", map[string]string{"email": "thu@patients.test"}, nil), http.StatusOK)
	var body []byte
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		return p.db.QueryRowContext(ctx, `SELECT body FROM outbox_messages WHERE idempotency_key LIKE 'password-reset:%'`).Scan(&body)
	})
	if err != nil {
		t.Fatalf("no reset link queued: %v", err)
	}
	var msg struct {
		Data      map[string]string `json:"data"`
		Sensitive bool              `json:"sensitive"`
	}
	_ = json.Unmarshal(body, &msg)
	link, err := url.Parse(msg.Data["reset_link"])
	if err != nil || !msg.Sensitive || link.Path != "/api/v1/users/password/reset/page/" {
		t.Fatalf("reset message %s", body)
	}
	page := p.do(t, http.MethodGet, link.RequestURI(), "", nil, nil)
	if page.status != http.StatusOK || !strings.Contains(string(page.raw), `fetch("/api/v1/users/password/reset/confirm/"`) {
		t.Fatalf("reset page through the gateway: %d %s", page.status, page.raw)
	}
	// What the page's script sends.
	expect(t, "confirm", p.do(t, http.MethodPost, "/api/v1/users/password/reset/confirm/", "", map[string]string{
		"token": link.Query().Get("token"), "new_password": "Lantern-Festival-88"}, nil), http.StatusOK)
	patientTok, _ := p.login(t, "thu", "Lantern-Festival-88")

	admin, _ := p.login(t, adminUser, adminPass)
	for _, u := range []map[string]any{
		{"username": "dr.hai", "first_name": "Hải", "last_name": "Đỗ", "role_name": "DOCTOR"},
		{"username": "nurse.mai", "first_name": "Mai", "last_name": "Lý", "role_name": "NURSE"},
	} {
		u["password"], u["email"] = "Brass-Compass-58", u["username"].(string)+"@hospital.test"
		expect(t, "create "+u["username"].(string), p.do(t, http.MethodPost, "/api/v1/admin/users/", admin, u, nil), http.StatusCreated)
	}
	docs := p.do(t, http.MethodGet, "/api/v1/users/doctors/", patientTok, nil, nil)
	expect(t, "doctors", docs, http.StatusOK)
	results, _ := docs.body["results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["name"] != "Hải Đỗ" {
		t.Fatalf("doctors %s", docs.raw)
	}
	nurseTok, _ := p.login(t, "nurse.mai", "Brass-Compass-58")
	found := p.do(t, http.MethodGet, "/api/v1/users/patients/?search=thu", nurseTok, nil, nil)
	expect(t, "patient search", found, http.StatusOK)
	if found.body["count"] != float64(1) || !strings.Contains(string(found.raw), fmt.Sprintf(`"id":%d`, int64(reg.body["id"].(float64)))) {
		t.Fatalf("patient search %s", found.raw)
	}
	expect(t, "patient searching patients", p.do(t, http.MethodGet, "/api/v1/users/patients/?search=thu", patientTok, nil, nil), http.StatusForbidden)
}
