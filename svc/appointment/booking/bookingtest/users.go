// Package bookingtest holds what the tests of booking and httpapi share: a
// real user service with the people the tests act as, and an appointment
// Service over a fresh database. It is imported by tests only.
package bookingtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/idempotency"
	"hospital/lib/testkit"
)

// This service's client secret at the user service, and every test user's
// password.
const (
	AppointmentSecret = "appointment-test-secret"
	UserPassword      = "Blue-Lotus-2026"
	ManyPatients      = 50
)

// People are the users the tests act as and book for, by their ids in the
// user service.
type People struct {
	DoctorA, DoctorB int64 // active doctors
	InactiveDoctor   int64 // a deactivated doctor
	LongNameDoctor   int64 // first and last names of 150 characters each
	Nurse, Admin     int64
	Patient1         int64 // Nguyen Van A
	Patient2         int64 // Pham Thi D
	InactivePatient  int64 // a deactivated patient
	LongNamePatient  int64 // first and last names of 150 characters each
	Many             []int64
	Roles            map[int64]string
}

// Role is the role of a user the tests created (PATIENT if unknown).
func (p People) Role(id int64) string {
	if r, ok := p.Roles[id]; ok {
		return r
	}
	return auth.RolePatient
}

// Users is a real user service, in a Consul agent of its own, with the
// People created through its API.
type Users struct {
	People
	Consul  *testkit.Consul
	Service *testkit.UserService
}

// SharedUsers is the user service the tests of one binary share, started
// by the first test that needs it.
var SharedUsers = testkit.SharedOnce(startUsers)

func startUsers(t testing.TB) *Users {
	t.Helper()
	u := &Users{Consul: testkit.StartConsul(t)}
	u.Roles = map[int64]string{}
	u.Service = testkit.StartUserService(t, u.Consul, "appointment="+AppointmentSecret)
	admin := u.AdminToken(t)
	staff := func(username, role, first, last string) int64 {
		id, err := u.Create(admin, map[string]any{"username": username, "email": username + "@hospital.test",
			"first_name": first, "last_name": last, "role_name": role})
		if err != nil {
			t.Fatal(err)
		}
		u.Roles[id] = role
		return id
	}
	patient := func(username, first, last string) int64 {
		id, err := u.Create("", map[string]any{"username": username, "email": username + "@patients.test",
			"first_name": first, "last_name": last})
		if err != nil {
			t.Fatal(err)
		}
		u.Roles[id] = auth.RolePatient
		return id
	}
	long := strings.Repeat("Đ", 150)
	u.DoctorA = staff("drtran", auth.RoleDoctor, "Tran Thi", "B")
	u.DoctorB = staff("drle", auth.RoleDoctor, "Le Van", "C")
	u.InactiveDoctor = staff("drvo", auth.RoleDoctor, "Vo Van", "E")
	u.LongNameDoctor = staff("drlong", auth.RoleDoctor, long, long)
	u.Nurse = staff("nursehoa", auth.RoleNurse, "Nurse", "N")
	u.Admin = staff("adminkhoa", auth.RoleAdmin, "Admin", "A")
	u.Patient1 = patient("nguyenvana", "Nguyen Van", "A")
	u.Patient2 = patient("phamthid", "Pham Thi", "D")
	u.InactivePatient = patient("dothig", "Do Thi", "G")
	u.LongNamePatient = patient("longname", long, long)
	u.Deactivate(t, admin, u.InactiveDoctor)
	u.Deactivate(t, admin, u.InactivePatient)

	// Many patients, for the concurrent bookings, registered a few at a time.
	u.Many = make([]int64, ManyPatients)
	errs := make([]error, ManyPatients)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := fmt.Sprintf("many%02d", i)
				u.Many[i], errs[i] = u.Create("", map[string]any{"username": name, "email": name + "@patients.test",
					"first_name": "Many", "last_name": strconv.Itoa(i)})
			}
		}()
	}
	for i := range ManyPatients {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, id := range u.Many {
		u.Roles[id] = auth.RolePatient
	}
	return u
}

// call sends a JSON request straight to the user service.
func (u *Users) call(method, path, token, key string, body any) (int, []byte, error) {
	js, _ := json.Marshal(body)
	req, err := http.NewRequest(method, u.Service.URL+path, bytes.NewReader(js))
	if err != nil {
		return 0, nil, err
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
		return 0, nil, fmt.Errorf("user service %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// AdminToken logs in as the bootstrap admin.
func (u *Users) AdminToken(t testing.TB) string {
	t.Helper()
	status, raw, err := u.call(http.MethodPost, "/api/v1/users/login/", "", "",
		map[string]string{"username": u.Service.AdminUsername, "password": u.Service.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("admin login: %d %s", status, raw)
	}
	return out.AccessToken
}

// Create makes a user (password UserPassword) and returns its id: a patient
// by self-registration, or with adminToken any role_name in body. The
// username is the Idempotency-Key, so asking again returns the same user.
func (u *Users) Create(adminToken string, body map[string]any) (int64, error) {
	body["password"] = UserPassword
	path := "/api/v1/users/register/"
	if adminToken != "" {
		path = "/api/v1/admin/users/"
	}
	status, raw, err := u.call(http.MethodPost, path, adminToken, "appointment-test:"+fmt.Sprint(body["username"]), body)
	if err != nil {
		return 0, err
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusCreated || err != nil || out.ID == 0 {
		return 0, fmt.Errorf("create user %v: %d %s", body["username"], status, raw)
	}
	return out.ID, nil
}

// Deactivate turns the account id off through the admin API.
func (u *Users) Deactivate(t testing.TB, adminToken string, id int64) {
	t.Helper()
	u.setActive(t, adminToken, id, false)
}

// Activate turns the account id on again.
func (u *Users) Activate(t testing.TB, adminToken string, id int64) {
	t.Helper()
	u.setActive(t, adminToken, id, true)
}

func (u *Users) setActive(t testing.TB, adminToken string, id int64, on bool) {
	t.Helper()
	action := "deactivate"
	if on {
		action = "activate"
	}
	status, raw, err := u.call(http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/%s/", id, action), adminToken, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		IsActive *bool `json:"is_active"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.IsActive == nil || *out.IsActive != on {
		t.Fatalf("%s user %d: %d %s", action, id, status, raw)
	}
}
