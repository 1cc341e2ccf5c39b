// Package recordstest is what the EHR service's tests share: the real user
// and appointment services with the people the tests act as, an EHR domain
// over a fresh FerretDB database, tokens, and readers of what the domain
// left in its outbox.
package recordstest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

// Secrets of the services at the test user service, and every test user's
// password.
const (
	EHRSecret         = "ehr-test-secret"
	AppointmentSecret = "appointment-test-secret"
	Password          = "Blue-Lotus-2026"
)

// Clinic is the clinic's time zone in the tests.
var Clinic, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

// People are the users the tests act as, by their ids in the user service.
type People struct {
	Patient1, Patient2, Patient3 int64
	Doctor1, Doctor2             int64
	Doctor3                      int64 // no schedule
	Nurse1, Nurse2, Nurse3       int64
	Admin, Pharmacist            int64
	Role                         map[int64]string
}

// World is a Consul agent with the real user and appointment services.
type World struct {
	People
	Consul       *testkit.Consul
	Users        *testkit.UserService
	Appointments *testkit.Service
	apptDB       *sql.DB
	tokens       map[int64]string

	mu   sync.Mutex
	slot int
}

// SharedWorld is started by the first test that needs it.
var SharedWorld = testkit.SharedOnce(startWorld)

func startWorld(t testing.TB) *World {
	w := &World{Consul: testkit.StartConsul(t), tokens: map[int64]string{}}
	w.Role = map[int64]string{}
	w.Users = testkit.StartUserService(t, w.Consul, "ehr="+EHRSecret+",appointment="+AppointmentSecret)
	admin := w.login(t, w.Users.AdminUsername, w.Users.AdminPassword)
	mk := func(username, first, role string) int64 {
		body := map[string]any{"username": username, "email": username + "@hospital.test", "password": Password,
			"first_name": first, "last_name": "Test"}
		path, tok := "/api/v1/users/register/", ""
		if role != auth.RolePatient {
			body["role_name"], path, tok = role, "/api/v1/admin/users/", admin
		}
		var out struct {
			ID int64 `json:"id"`
		}
		if status, raw := w.call(t, w.Users.URL, http.MethodPost, path, tok, body, &out); status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", username, status, raw)
		}
		w.Role[out.ID] = role
		w.tokens[out.ID] = w.login(t, username, Password)
		return out.ID
	}
	w.Patient1 = mk("ehrmai", "Mai", auth.RolePatient)
	w.Patient2 = mk("ehrlan", "Lan", auth.RolePatient)
	w.Patient3 = mk("ehrhoa", "Hoa", auth.RolePatient)
	w.Doctor1 = mk("ehrdocbinh", "Binh", auth.RoleDoctor)
	w.Doctor2 = mk("ehrdoccuong", "Cuong", auth.RoleDoctor)
	w.Doctor3 = mk("ehrdocgiang", "Giang", auth.RoleDoctor)
	w.Nurse1 = mk("ehrnursedung", "Dung", auth.RoleNurse)
	w.Nurse2 = mk("ehrnurseem", "Em", auth.RoleNurse)
	w.Nurse3 = mk("ehrnursekhanh", "Khanh", auth.RoleNurse)
	w.Admin = mk("ehradmin", "Admin", auth.RoleAdmin)
	w.Pharmacist = mk("ehrpharma", "Phuong", auth.RolePharmacist)

	dsn := testkit.SharedMariaDB(t).NewDatabase(t)
	w.Appointments = testkit.StartService(t, w.Consul, "appointment", testkit.Build(t, "hospital/svc/appointment"),
		"MYSQL_DSN="+dsn, "SERVICE_SECRET="+AppointmentSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"MAX_OPEN_APPOINTMENTS_PER_PATIENT=1000", "REMINDER_INTERVAL=1h", "OUTBOX_POLL_INTERVAL=1s")
	db, err := mysqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.apptDB = db
	for _, doc := range []int64{w.Doctor1, w.Doctor2} {
		for d := range 7 {
			if status, raw := w.call(t, w.Appointments.URL, http.MethodPost, fmt.Sprintf("/api/v1/doctors/%d/schedule/", doc), w.tokens[doc],
				map[string]any{"day_of_week": d, "start_time": "00:00", "end_time": "23:30", "valid_from": "2026-01-01"}, nil); status != http.StatusCreated {
				t.Fatalf("schedule: %d %s", status, raw)
			}
		}
	}
	return w
}

// Book books an appointment of patient with doctor (in a future slot of
// its own) at the real appointment service and returns its id.
func (w *World) Book(t testing.TB, patient, doctor int64) int64 {
	t.Helper()
	w.mu.Lock()
	w.slot++
	n := w.slot
	w.mu.Unlock()
	now := time.Now().In(Clinic)
	at := time.Date(now.Year(), now.Month(), now.Day()+2+n/40, 0, 0, 0, 0, Clinic).Add(time.Duration(n%40) * 30 * time.Minute)
	var out struct {
		ID int64 `json:"id"`
	}
	status, raw := w.call(t, w.Appointments.URL, http.MethodPost, "/api/v1/appointments/", w.tokens[patient],
		map[string]any{"doctor_id": doctor, "appointment_time": at.Format(time.RFC3339), "reason_for_visit": "Khám"}, &out)
	if status != http.StatusCreated {
		t.Fatalf("book: %d %s", status, raw)
	}
	return out.ID
}

// MoveToNow moves an appointment to start now, as the day of it coming
// would (a test cannot wait for a booked slot).
func (w *World) MoveToNow(t testing.TB, appointmentID int64) {
	t.Helper()
	start := time.Now().UTC().Truncate(time.Second)
	if _, err := w.apptDB.Exec(`UPDATE appointments SET appointment_time = ?, end_time = ? WHERE id = ?`,
		start, start.Add(30*time.Minute), appointmentID); err != nil {
		t.Fatal(err)
	}
}

// Cancel cancels an appointment as its patient.
func (w *World) Cancel(t testing.TB, patient, appointmentID int64) {
	t.Helper()
	if status, raw := w.call(t, w.Appointments.URL, http.MethodPut, fmt.Sprintf("/api/v1/appointments/%d/cancel/", appointmentID),
		w.tokens[patient], nil, nil); status != http.StatusOK {
		t.Fatalf("cancel: %d %s", status, raw)
	}
}

// Deactivate deactivates a user at the user service.
func (w *World) Deactivate(t testing.TB, id int64, active bool) {
	t.Helper()
	path := fmt.Sprintf("/api/v1/admin/users/%d/deactivate/", id)
	if active {
		path = fmt.Sprintf("/api/v1/admin/users/%d/activate/", id)
	}
	admin := w.login(t, w.Users.AdminUsername, w.Users.AdminPassword)
	if status, raw := w.call(t, w.Users.URL, http.MethodPost, path, admin, nil, nil); status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, status, raw)
	}
}

func (w *World) call(t testing.TB, base, method, path, token string, body, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, base+path, rd)
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

func (w *World) login(t testing.TB, username, password string) string {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if status, raw := w.call(t, w.Users.URL, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": username, "password": password}, &out); status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, status, raw)
	}
	return out.AccessToken
}
