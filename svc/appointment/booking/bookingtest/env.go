package bookingtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/apitest"
	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/outbox"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/appointment/booking"
	"hospital/svc/appointment/store"
)

// Clinic is the clinic's zone in the tests.
var Clinic = mustLoc("Asia/Ho_Chi_Minh")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Monday noon in the clinic, a fixed day, so slot arithmetic is predictable.
var Start = time.Date(2026, 12, 7, 12, 0, 0, 0, Clinic)

// Config is the service's configuration in the tests; change fields before
// passing it to New.
func Config() booking.Config {
	c := booking.Config{
		ClinicTimezone: "Asia/Ho_Chi_Minh", SlotDuration: 30 * time.Minute, ConsultationFee: "150000.00",
		MaxDaysAhead: 90, BookingHorizonDays: 90, MaxOpenPerPatient: 10,
		UserCacheTTL: 0, UserCacheSize: 100, ReminderBefore: 24 * time.Hour, ReminderInterval: time.Minute,
	}
	c.ServiceSecret = AppointmentSecret
	return c
}

// Env is one appointment Service over its own fresh database, looking users
// up in the shared user service as in production.
type Env struct {
	People
	T      testing.TB
	DB     *sql.DB
	Store  *store.Store
	Svc    *booking.Service
	Clock  *testkit.Clock
	Users  *Users
	Client *svcclient.Client // this service's client, with its service token
	Kicks  atomic.Int32
	// Lookups counts the calls made to the user service.
	Lookups atomic.Int32
}

// New starts an Env with cfg (Config() when nil).
func New(t testing.TB, cfg *booking.Config) *Env {
	t.Helper()
	u := SharedUsers(t)
	db, _ := testkit.NewMySQL(t, store.Migrate)
	e := &Env{People: u.People, T: t, DB: db, Store: store.New(db), Users: u, Clock: testkit.NewClock(Start)}
	rctx, rcancel := context.WithCancel(context.Background())
	t.Cleanup(rcancel)
	e.Client = svcclient.New(booking.ServiceName, discovery.New(rctx, u.Consul.Client, slog.Default()), svcclient.Options{})
	e.Client.SetTokenSource(svcclient.NewClientCredentials(e.Client, booking.ServiceName, AppointmentSecret))
	if cfg == nil {
		c := Config()
		cfg = &c
	}
	svc, err := booking.New(*cfg, booking.Deps{
		Store: e.Store, Users: countingDirectory{next: userapi.NewClient(e.Client), n: &e.Lookups},
		Now: e.Clock.Now, Kick: func() { e.Kicks.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Svc = svc
	return e
}

// countingDirectory counts the lookups that reach the user service.
type countingDirectory struct {
	next booking.Directory
	n    *atomic.Int32
}

func (c countingDirectory) User(ctx context.Context, id int64) (userapi.User, error) {
	c.n.Add(1)
	return c.next.User(ctx, id)
}

// As is a context in which user id (with the role the tests gave them) calls.
func (e *Env) As(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: e.Role(id), Username: fmt.Sprintf("u%d", id)})
}

// Slot is a clinic wall-clock time days after Start's Monday, in RFC 3339.
func Slot(days int, hhmm string) string {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2026-12-07 "+hhmm, Clinic)
	if err != nil {
		panic(err)
	}
	return t.AddDate(0, 0, days).Format(time.RFC3339)
}

// WorkWeek gives doctor a schedule of 08:00-12:00 every day of the week.
func (e *Env) WorkWeek(doctor int64) {
	e.T.Helper()
	for d := range 7 {
		_, _, err := e.Svc.SaveSchedule(e.As(doctor), doctor, booking.ScheduleRequest{
			DayOfWeek: &d, StartTime: "08:00", EndTime: "12:00", ValidFrom: "2026-01-01",
		})
		if err != nil {
			e.T.Fatal(err)
		}
	}
}

// Book books doctor at at as patient (for themself).
func (e *Env) Book(patient, doctor int64, at string) (booking.Appointment, error) {
	return e.Svc.Book(e.As(patient), booking.BookRequest{DoctorID: doctor, AppointmentTime: at, ReasonForVisit: "Đau đầu"})
}

// Count runs a COUNT query.
func (e *Env) Count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.DB.QueryRow(query, args...).Scan(&n); err != nil {
		e.T.Fatal(err)
	}
	return n
}

// Message is the outbox message with key, and its decoded body.
func (e *Env) Message(key string) (outbox.Record, map[string]any) {
	e.T.Helper()
	rec, err := outbox.Get(context.Background(), e.DB, key)
	if err != nil {
		e.T.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		e.T.Fatal(err)
	}
	return rec, body
}

// Expect fails the test unless err is answered with status.
func (e *Env) Expect(what string, err error, status int) {
	e.T.Helper()
	apitest.ExpectStatus(e.T, what, err, status)
}
