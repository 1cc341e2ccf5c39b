// Package dispensingtest holds what the tests of dispensing and httpapi
// share: a real user service (in a Consul agent of its own) with the people
// the tests act as, and pharmacy Services over fresh FerretDB databases. It
// is imported by tests only.
package dispensingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/idempotency"
	"hospital/lib/testkit"
)

// This service's client secret at the user service, and every test user's
// password.
const (
	PharmacySecret = "pharmacy-test-secret"
	EHRSecret      = "ehr-test-secret"
	UserPassword   = "Blue-Lotus-2026"
)

// People are the users the tests act as, by their ids in the user service.
type People struct {
	DoctorA, DoctorB         int64
	Nurse, Admin             int64
	PharmacistA, PharmacistB int64
	InactivePharmacist       int64
	Patient1, Patient2       int64 // Nguyen Van A, Pham Thi D
	InactivePatient          int64
	Roles                    map[int64]string
}

// Role is the role of a user the tests created.
func (p People) Role(id int64) string { return p.Roles[id] }

// Users is a real user service with the People created through its API.
type Users struct {
	People
	Consul  *testkit.Consul
	Service *testkit.UserService
}

// SharedUsers is the user service the tests of one binary share.
var SharedUsers = testkit.SharedOnce(startUsers)

func startUsers(t testing.TB) *Users {
	t.Helper()
	u := &Users{Consul: testkit.StartConsul(t)}
	u.Roles = map[int64]string{}
	u.Service = testkit.StartUserService(t, u.Consul, "pharmacy="+PharmacySecret+",ehr="+EHRSecret)
	admin := u.adminToken(t)
	create := func(username, role, first, last string) int64 {
		t.Helper()
		path, token := "/api/v1/admin/users/", admin
		body := map[string]any{"username": username, "email": username + "@hospital.test", "first_name": first,
			"last_name": last, "password": UserPassword, "role_name": role}
		if role == auth.RolePatient {
			path, token = "/api/v1/users/register/", ""
			delete(body, "role_name")
		}
		status, raw := u.call(t, http.MethodPost, path, token, "pharmacy-test:"+username, body)
		var out struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(raw, &out); status != http.StatusCreated || err != nil || out.ID == 0 {
			t.Fatalf("create user %s: %d %s", username, status, raw)
		}
		u.Roles[out.ID] = role
		return out.ID
	}
	u.DoctorA = create("drtran", auth.RoleDoctor, "Tran Thi", "B")
	u.DoctorB = create("drle", auth.RoleDoctor, "Le Van", "C")
	u.Nurse = create("nursehoa", auth.RoleNurse, "Nurse", "Hoa")
	u.Admin = create("adminkhoa", auth.RoleAdmin, "Admin", "Khoa")
	u.PharmacistA = create("dsmai", auth.RolePharmacist, "Duoc Si", "Mai")
	u.PharmacistB = create("dslan", auth.RolePharmacist, "Duoc Si", "Lan")
	u.InactivePharmacist = create("dscu", auth.RolePharmacist, "Duoc Si", "Cu")
	u.Patient1 = create("nguyenvana", auth.RolePatient, "Nguyen Van", "A")
	u.Patient2 = create("phamthid", auth.RolePatient, "Pham Thi", "D")
	u.InactivePatient = create("dothig", auth.RolePatient, "Do Thi", "G")
	for _, id := range []int64{u.InactivePharmacist, u.InactivePatient} {
		status, raw := u.call(t, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/deactivate/", id), admin, "", nil)
		if status != http.StatusOK {
			t.Fatalf("deactivate user %d: %d %s", id, status, raw)
		}
	}
	return u
}

// NewPatient registers a patient of the test's own (the same username is
// the same patient) and returns their id.
func (u *Users) NewPatient(t testing.TB, username string) int64 {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/register/", "", "pharmacy-test:"+username, map[string]any{
		"username": username, "email": username + "@patients.test", "first_name": "Patient", "last_name": username, "password": UserPassword})
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusCreated || err != nil || out.ID == 0 {
		t.Fatalf("register %s: %d %s", username, status, raw)
	}
	return out.ID
}

// Token logs a test user in and returns their access token.
func (u *Users) Token(t testing.TB, username string) string {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", "", map[string]string{"username": username, "password": UserPassword})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("login %s: %d %s", username, status, raw)
	}
	return out.AccessToken
}

// call sends a JSON request straight to the user service.
func (u *Users) call(t testing.TB, method, path, token, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, u.Service.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set(idempotency.Header, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("user service %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (u *Users) adminToken(t testing.TB) string {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", "",
		map[string]string{"username": u.Service.AdminUsername, "password": u.Service.AdminPassword})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("admin login: %d %s", status, raw)
	}
	return out.AccessToken
}
