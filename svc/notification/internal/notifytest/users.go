package notifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

// The user service's client entry for this service, and every test user's
// password.
const (
	NotificationSecret = "notification-test-secret"
	UserPassword       = "Blue-Lotus-2026"
)

// Users is a real user service, in a Consul agent of its own, with the
// recipients the tests send to, created through its API.
type Users struct {
	Consul  *testkit.Consul
	Svc     *testkit.UserService
	Patient int64 // lan: email and phone
	Doctor  int64 // binh: email only
}

// sharedUsers is the user service the tests of a binary share, started by
// the first test that needs it.
var sharedUsers = testkit.SharedOnce(startUsers)

// startUsers starts Consul and the user service on a database of their own
// and creates Lan (a patient) and Binh (a doctor).
func startUsers(t testing.TB) *Users {
	t.Helper()
	u := &Users{Consul: testkit.StartConsul(t)}
	u.Svc = testkit.StartUserService(t, u.Consul, "notification="+NotificationSecret)
	u.Patient = u.Register(t, "", map[string]any{"username": "lan", "email": "lan@patients.test",
		"first_name": "Lan", "last_name": "Nguyen", "phone_number": "+84901234567"})
	u.Doctor = u.Register(t, u.adminToken(t), map[string]any{"username": "drbinh", "email": "dr.binh@hospital.test",
		"first_name": "Binh", "last_name": "Tran", "role_name": auth.RoleDoctor})
	return u
}

// call sends a JSON request straight to the user service.
func (u *Users) call(t testing.TB, method, path, token, key string, body any) (int, []byte) {
	t.Helper()
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u.Svc.URL+path, bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("user service %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// adminToken logs in as the bootstrap admin.
func (u *Users) adminToken(t testing.TB) string {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", "",
		map[string]string{"username": u.Svc.AdminUsername, "password": u.Svc.AdminPassword})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("admin login: %d %s", status, raw)
	}
	return out.AccessToken
}

// Register creates a user (password UserPassword) and returns its id: a
// patient by self-registration, or with adminToken any role_name in body.
// The username is the Idempotency-Key, so asking again returns the same user.
func (u *Users) Register(t testing.TB, adminToken string, body map[string]any) int64 {
	t.Helper()
	body["password"] = UserPassword
	path := "/api/v1/users/register/"
	if adminToken != "" {
		path = "/api/v1/admin/users/"
	}
	status, raw := u.call(t, http.MethodPost, path, adminToken, "notification-test:"+fmt.Sprint(body["username"]), body)
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusCreated || err != nil || out.ID == 0 {
		t.Fatalf("create user %v: %d %s", body["username"], status, raw)
	}
	return out.ID
}

// Prefer sets a user's preferred language and push token through the user
// service's API, signed in as the user (password UserPassword).
func (u *Users) Prefer(t testing.TB, username, language, pushToken string) {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", "", map[string]string{"username": username, "password": UserPassword})
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &login); status != http.StatusOK || err != nil || login.AccessToken == "" {
		t.Fatalf("login %s: %d %s", username, status, raw)
	}
	status, raw = u.call(t, http.MethodPut, "/api/v1/users/me/", login.AccessToken, "", map[string]string{"language": language, "push_token": pushToken})
	if status != http.StatusOK {
		t.Fatalf("preferences of %s: %d %s", username, status, raw)
	}
}
