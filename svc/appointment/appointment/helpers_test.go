package appointment_test

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
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/idempotency"
	"hospital/lib/middleware"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/svc/appointment/appointment"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

var hcm, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

// This service's client secret at the user service, and every test user's
// password.
const (
	appointmentSecret = "appointment-test-secret"
	userPassword      = "Blue-Lotus-2026"
	manyPatients      = 50
)

// people are the users the tests act as and book for, by their ids in the
// user service.
type people struct {
	doctorA, doctorB int64 // active doctors
	inactiveDoctor   int64 // a deactivated doctor
	nurse, admin     int64
	patient1         int64 // Nguyen Van A
	patient2         int64 // Pham Thi D
	inactivePatient  int64 // a deactivated patient
	many             []int64
	role             map[int64]string
}

// users is a real user service, in a Consul agent of its own, with the
// people the tests need, created through its API.
type users struct {
	people
	consul *testkit.Consul
	svc    *testkit.UserService
}

// sharedUsers is the user service the tests of this binary share, started
// by the first test that needs it.
var sharedUsers = testkit.SharedOnce(startUsers)

// startUsers starts Consul and the user service on a database of their own
// and creates the tests' users.
func startUsers(t testing.TB) *users {
	t.Helper()
	u := &users{consul: testkit.StartConsul(t)}
	u.role = map[int64]string{}
	u.svc = testkit.StartUserService(t, u.consul, "appointment="+appointmentSecret)
	admin := u.adminToken(t)
	staff := func(username, role, first, last string) int64 {
		id, err := u.create(admin, map[string]any{"username": username, "email": username + "@hospital.test",
			"first_name": first, "last_name": last, "role_name": role})
		if err != nil {
			t.Fatal(err)
		}
		u.role[id] = role
		return id
	}
	patient := func(username, first, last string) int64 {
		id, err := u.create("", map[string]any{"username": username, "email": username + "@patients.test",
			"first_name": first, "last_name": last})
		if err != nil {
			t.Fatal(err)
		}
		u.role[id] = auth.RolePatient
		return id
	}
	u.doctorA = staff("drtran", auth.RoleDoctor, "Tran Thi", "B")
	u.doctorB = staff("drle", auth.RoleDoctor, "Le Van", "C")
	u.inactiveDoctor = staff("drvo", auth.RoleDoctor, "Vo Van", "E")
	u.nurse = staff("nursehoa", auth.RoleNurse, "Nurse", "N")
	u.admin = staff("adminkhoa", auth.RoleAdmin, "Admin", "A")
	u.patient1 = patient("nguyenvana", "Nguyen Van", "A")
	u.patient2 = patient("phamthid", "Pham Thi", "D")
	u.inactivePatient = patient("dothig", "Do Thi", "G")
	u.deactivate(t, admin, u.inactiveDoctor)
	u.deactivate(t, admin, u.inactivePatient)

	// Many patients, for the concurrent bookings, registered a few at a time.
	u.many = make([]int64, manyPatients)
	errs := make([]error, manyPatients)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				name := fmt.Sprintf("many%02d", i)
				u.many[i], errs[i] = u.create("", map[string]any{"username": name, "email": name + "@patients.test",
					"first_name": "Many", "last_name": strconv.Itoa(i)})
			}
		}()
	}
	for i := range manyPatients {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, id := range u.many {
		u.role[id] = auth.RolePatient
	}
	return u
}

// call sends a JSON request straight to the user service.
func (u *users) call(method, path, token, key string, body any) (int, []byte, error) {
	js, _ := json.Marshal(body)
	req, err := http.NewRequest(method, u.svc.URL+path, bytes.NewReader(js))
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

// adminToken logs in as the bootstrap admin.
func (u *users) adminToken(t testing.TB) string {
	t.Helper()
	status, raw, err := u.call(http.MethodPost, "/api/v1/users/login/", "", "",
		map[string]string{"username": u.svc.AdminUsername, "password": u.svc.AdminPassword})
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

// create makes a user (password userPassword) and returns its id: a patient
// by self-registration, or with adminToken any role_name in body. The
// username is the Idempotency-Key, so asking again returns the same user.
func (u *users) create(adminToken string, body map[string]any) (int64, error) {
	body["password"] = userPassword
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

// deactivate turns the account id off through the admin API.
func (u *users) deactivate(t testing.TB, adminToken string, id int64) {
	t.Helper()
	status, raw, err := u.call(http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/deactivate/", id), adminToken, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		IsActive *bool `json:"is_active"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.IsActive == nil || *out.IsActive {
		t.Fatalf("deactivate user %d: %d %s", id, status, raw)
	}
}

// env is one appointment service over its own fresh database, over HTTP,
// looking users up in the shared user service as in production.
type env struct {
	people
	t      *testing.T
	db     *sql.DB
	svc    *appointment.Service
	signer *auth.Signer
	clock  *testkit.Clock
	users  *users
	kicks  atomic.Int32
	url    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	u := sharedUsers(t)
	db, _ := testkit.NewMySQL(t, appointment.Migrate)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Noon in the clinic, on a fixed Monday, so slot arithmetic is predictable.
	e := &env{people: u.people, t: t, db: db, users: u, clock: testkit.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, hcm))}
	e.signer = auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	// Users come from the user service, found in its Consul and called with
	// this service's token, as in production.
	rctx, rcancel := context.WithCancel(context.Background())
	t.Cleanup(rcancel)
	client := svcclient.New("appointment", discovery.New(rctx, u.consul.Client, slog.Default()), svcclient.Options{})
	client.SetTokenSource(svcclient.NewClientCredentials(client, "appointment", appointmentSecret))
	e.svc = appointment.New(db, appointment.Options{
		Verifier:  auth.NewVerifier(e.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience),
		Directory: appointment.UserServiceDirectory{Client: client}, Location: hcm, Duration: 30 * time.Minute, ConsultationFee: "150000.00",
		Now: e.clock.Now, Kick: func() { e.kicks.Add(1) }, Logger: slog.Default(),
	})
	metrics := middleware.NewMetrics(prometheus.NewRegistry())
	srv := httptest.NewServer(middleware.Recover(middleware.RequestID(metrics.Observe(appointment.Router(e.svc)))))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *env) token(id int64, role string) string {
	e.t.Helper()
	tok, err := e.signer.Sign(auth.Identity{UserID: id, Role: role, Username: fmt.Sprintf("u%d", id)}, time.Hour, fmt.Sprintf("jti-%d-%d", id, time.Now().UnixNano()))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// roleOf is the role of a user the tests created (a patient if unknown).
func (e *env) roleOf(id int64) string {
	if r, ok := e.role[id]; ok {
		return r
	}
	return auth.RolePatient
}

type resp struct {
	status int
	raw    []byte
	body   map[string]any
	ctype  string
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

func (r resp) id() int64 { f, _ := r.body["id"].(float64); return int64(f) }

// do calls the service as user (0: no token).
func (e *env) do(method, path string, user int64, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != 0 {
		req.Header.Set("Authorization", "Bearer "+e.token(user, e.roleOf(user)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, raw: raw, ctype: res.Header.Get("Content-Type")}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (e *env) expect(what string, r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	if status >= 400 && (r.ctype != "application/problem+json" || r.str("detail") == "") {
		e.t.Fatalf("%s: not a problem with a detail: %s %s", what, r.ctype, r.raw)
	}
	return r
}

// workWeek gives doctor a schedule of 08:00-12:00 every day of the week.
func (e *env) workWeek(doctor int64) {
	e.t.Helper()
	for d := 0; d < 7; d++ {
		e.expect("schedule", e.do("POST", fmt.Sprintf("/api/v1/doctors/%d/schedule/", doctor), doctor, map[string]any{
			"day_of_week": d, "start_time": "08:00", "end_time": "12:00", "valid_from": "2026-01-01",
		}), http.StatusCreated)
	}
}

// slot is a clinic wall-clock time days after the test's Monday, in RFC 3339.
func slot(days int, hhmm string) string {
	t, _ := time.ParseInLocation("2006-01-02 15:04", "2026-12-07 "+hhmm, hcm)
	return t.AddDate(0, 0, days).Format(time.RFC3339)
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) book(patient, doctor int64, at string) resp {
	e.t.Helper()
	return e.do("POST", "/api/v1/appointments/", patient, map[string]any{"doctor_id": doctor, "appointment_time": at, "reason_for_visit": "Đau đầu"})
}
