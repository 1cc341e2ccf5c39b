package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

// appointmentSecret is the appointment service's client secret; the user
// service learns it through the SERVICE_CLIENTS override below.
const appointmentSecret = "e2e-appointment-secret"

var appointmentClients = "SERVICE_CLIENTS=notification=" + notificationSecret + ",appointment=" + appointmentSecret

type appointmentRig struct {
	*platform
	notif    *notifier
	notifSvc *testkit.Service
	appt     *testkit.Service
	apptDB   *sql.DB
	apptEnv  []string
	admin    string
}

// startAppointments runs the platform, the notification service and one
// appointment service, and waits until the gateway routes to it.
func startAppointments(t testing.TB, extraEnv ...string) *appointmentRig {
	t.Helper()
	p := startPlatform(t, appointmentClients)
	r := &appointmentRig{platform: p, notif: newNotifier(t)}
	r.notifSvc = r.notif.start(t, p)
	dsn := testkit.SharedMariaDB(t).NewDatabase(t)
	db, err := mysqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.apptDB = db
	env := append([]string{
		"MYSQL_DSN=" + dsn, "SERVICE_SECRET=" + appointmentSecret, "CLINIC_TIMEZONE=Asia/Ho_Chi_Minh",
		"CONSULTATION_FEE=150000", "OUTBOX_POLL_INTERVAL=100ms", "OUTBOX_BACKOFF_MAX=1s", "REMINDER_INTERVAL=200ms",
	}, extraEnv...)
	r.apptEnv = env
	r.appt = testkit.StartService(t, p.consul, "appointment", testkit.Build(t, "hospital/svc/appointment"), env...)
	p.waitNotificationRouted(t)
	err = testkit.Until(context.Background(), 30*time.Second, p.gateway.Proc, func(ctx context.Context) error {
		res := p.do(t, http.MethodGet, "/api/v1/doctors/1/availability/", "", nil, nil)
		if res.status != http.StatusUnauthorized {
			return fmt.Errorf("availability without a token: %d %s", res.status, res.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.admin, _ = p.login(t, adminUser, adminPass)
	return r
}

// doctor creates a doctor with a 07:00-19:00 schedule every day and returns
// their id and token.
func (r *appointmentRig) doctor(t testing.TB, username string) (int64, string) {
	t.Helper()
	doc := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
		"username": username, "password": staffPass, "email": username + "@hospital.test", "role_name": "DOCTOR",
		"first_name": "Tran Thi", "last_name": username,
	}, nil)
	expect(t, "create doctor", doc, http.StatusCreated)
	id := int64(doc.body["id"].(float64))
	tok, _ := r.login(t, username, staffPass)
	for d := range 7 {
		expect(t, "schedule", r.do(t, http.MethodPost, fmt.Sprintf("/api/v1/doctors/%d/schedule/", id), tok, map[string]any{
			"day_of_week": d, "start_time": "07:00", "end_time": "19:00", "valid_from": "2026-01-01",
		}, nil), http.StatusCreated)
	}
	return id, tok
}

// patient registers a patient and returns their id and token.
func (r *appointmentRig) patient(t testing.TB, username string) (int64, string) {
	t.Helper()
	reg := r.register(t, username)
	tok, _ := r.login(t, username, patientPass)
	return int64(reg.body["id"].(float64)), tok
}

// clinicSlot is days from today at hh:mm in the clinic (Asia/Ho_Chi_Minh).
func clinicSlot(days, hh, mm int) string {
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	n := time.Now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day()+days, hh, mm, 0, 0, loc).Format(time.RFC3339)
}

func (r *appointmentRig) book(t testing.TB, tok string, doctor int64, at string) result {
	t.Helper()
	return r.do(t, http.MethodPost, "/api/v1/appointments/", tok, map[string]any{
		"doctor_id": doctor, "appointment_time": at, "reason_for_visit": "Khám tổng quát",
	}, nil)
}

func (r *appointmentRig) apptCount(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := r.apptDB.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *appointmentRig) waitSent(t testing.TB, recipient int64, typ string, n int) {
	t.Helper()
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d&notification_type=%s", recipient, typ),
		typ+" for "+strconv.FormatInt(recipient, 10), 60*time.Second, allSent(n))
}

// The whole lifecycle through the gateway with real services: booking emails
// both parties, confirming emails the patient, completing leaves the EHR and
// Billing calls pending in the outbox; illegal transitions are 409, other
// patients 403, a cancellation frees the slot, bad input writes nothing.
func TestAppointmentLifecycleThroughGateway(t *testing.T) {
	r := startAppointments(t)
	docID, docTok := r.doctor(t, "drlife")
	patID, patTok := r.patient(t, "appt-mai")
	_, otherTok := r.patient(t, "appt-lan")

	av := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/doctors/%d/availability/?days_in_advance=2", docID), patTok, nil, nil)
	expect(t, "availability", av, http.StatusOK)
	if days, _ := av.body["days"].([]any); len(days) != 3 {
		t.Fatalf("availability days: %s", av.raw)
	}

	// The spec's own form: a clinic wall-clock time without an offset; the
	// answer carries the instant in UTC.
	at := clinicSlot(2, 9, 0)
	naive := strings.TrimSuffix(at, "+07:00")
	a := r.book(t, patTok, docID, naive)
	expect(t, "book", a, http.StatusCreated)
	id := int64(a.body["id"].(float64))
	if want, _ := time.Parse(time.RFC3339, at); a.str("appointment_time") != want.UTC().Format(time.RFC3339) {
		t.Fatalf("booked %s as %s, want %s", naive, a.str("appointment_time"), want.UTC().Format(time.RFC3339))
	}
	path := fmt.Sprintf("/api/v1/appointments/%d/", id)
	r.waitSent(t, patID, "APPOINTMENT_REQUESTED_PATIENT", 1)
	r.waitSent(t, docID, "APPOINTMENT_REQUESTED_DOCTOR", 1)
	r.notif.mail.WaitFor(t, "to:appt-mai@patients.test", 2, 30*time.Second) // registration + request
	r.notif.mail.WaitFor(t, "to:drlife@hospital.test", 1, 30*time.Second)

	expect(t, "double booking", r.book(t, otherTok, docID, at), http.StatusConflict)
	expect(t, "other patient reads", r.do(t, http.MethodGet, path, otherTok, nil, nil), http.StatusForbidden)
	expect(t, "other patient cancels", r.do(t, http.MethodPut, path+"cancel/", otherTok, nil, nil), http.StatusForbidden)
	expect(t, "patient confirms", r.do(t, http.MethodPut, path+"confirm/", patTok, nil, nil), http.StatusForbidden)
	expect(t, "complete before confirm", r.do(t, http.MethodPut, path+"complete/", docTok, nil, nil), http.StatusConflict)

	expect(t, "confirm", r.do(t, http.MethodPut, path+"confirm/", docTok, nil, nil), http.StatusOK)
	expect(t, "confirm twice", r.do(t, http.MethodPut, path+"confirm/", docTok, nil, nil), http.StatusConflict)
	r.waitSent(t, patID, "APPOINTMENT_CONFIRMED_PATIENT", 1)
	r.notif.mail.WaitFor(t, "to:appt-mai@patients.test", 3, 30*time.Second)

	upd := r.do(t, http.MethodPut, path, docTok, map[string]any{"notes_doctor": "Huyết áp bình thường"}, nil)
	expect(t, "notes", upd, http.StatusOK)
	expect(t, "complete before the start", r.do(t, http.MethodPut, path+"complete/", docTok, nil, nil), http.StatusConflict)
	// The appointment's time comes: moved in its database to have begun
	// ten minutes ago, as two days passing would.
	begun := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	if _, err := r.apptDB.Exec(`UPDATE appointments SET appointment_time = ?, end_time = ?, active_slot = ? WHERE id = ?`,
		begun, begun.Add(30*time.Minute), begun, id); err != nil {
		t.Fatal(err)
	}
	done := r.do(t, http.MethodPut, path+"complete/", docTok, nil, nil)
	expect(t, "complete", done, http.StatusOK)
	if done.str("status") != "COMPLETED" || done.str("notes_doctor") != "Huyết áp bình thường" {
		t.Fatalf("completed: %s", done.raw)
	}
	expect(t, "cancel completed", r.do(t, http.MethodPut, path+"cancel/", patTok, nil, nil), http.StatusConflict)
	// EHR and Billing do not run: their calls wait in the outbox.
	for _, key := range []string{fmt.Sprintf("appointment-ehr-link:%d", id), fmt.Sprintf("appointment-invoice:%d", id)} {
		if n := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key = ? AND status = 'PENDING'`, key); n != 1 {
			t.Fatalf("%s not pending in the outbox", key)
		}
	}

	// Cancel frees the slot for someone else.
	at2 := clinicSlot(3, 10, 30)
	b := r.book(t, patTok, docID, at2)
	expect(t, "book second", b, http.StatusCreated)
	bpath := fmt.Sprintf("/api/v1/appointments/%d/", int64(b.body["id"].(float64)))
	c := r.do(t, http.MethodPut, bpath+"cancel/", patTok, nil, nil)
	expect(t, "cancel", c, http.StatusOK)
	if c.str("status") != "CANCELLED_PATIENT" {
		t.Fatalf("cancel: %s", c.raw)
	}
	expect(t, "rebook freed slot", r.book(t, otherTok, docID, at2), http.StatusCreated)

	// Lists: own only, filtered.
	mine := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/appointments/?status=COMPLETED", patID), patTok, nil, nil)
	expect(t, "own list", mine, http.StatusOK)
	if mine.body["count"].(float64) != 1 {
		t.Fatalf("own completed: %s", mine.raw)
	}
	expect(t, "other's list", r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/patients/%d/appointments/", patID), otherTok, nil, nil), http.StatusForbidden)
	expect(t, "patient reads doctor list", r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/doctors/%d/appointments/", docID), patTok, nil, nil), http.StatusForbidden)
	dl := r.do(t, http.MethodGet, fmt.Sprintf("/api/v1/doctors/%d/appointments/?page_size=1", docID), docTok, nil, nil)
	expect(t, "doctor list", dl, http.StatusOK)
	if dl.body["count"].(float64) != 3 || dl.body["next"] == nil {
		t.Fatalf("doctor list: %s", dl.raw)
	}

	// Bad input: 400 problem, nothing written.
	before := r.apptCount(t, `SELECT COUNT(*) FROM appointments`)
	nurseNot := int64(r.register(t, "appt-notdoc").body["id"].(float64))
	for name, body := range map[string]any{
		"past":           map[string]any{"doctor_id": docID, "appointment_time": clinicSlot(-1, 9, 0)},
		"off the grid":   map[string]any{"doctor_id": docID, "appointment_time": clinicSlot(2, 9, 10)},
		"unknown doctor": map[string]any{"doctor_id": 987654, "appointment_time": clinicSlot(2, 9, 30)},
		"not a doctor":   map[string]any{"doctor_id": nurseNot, "appointment_time": clinicSlot(2, 9, 30)},
		"malformed date": map[string]any{"doctor_id": docID, "appointment_time": "2026-31-12 09:00"},
		"unknown field":  map[string]any{"doctor_id": docID, "appointment_time": clinicSlot(2, 9, 30), "status": "CONFIRMED"},
	} {
		expect(t, name, r.doInvalid(t, http.MethodPost, "/api/v1/appointments/", patTok, body, nil), http.StatusBadRequest)
	}
	if after := r.apptCount(t, `SELECT COUNT(*) FROM appointments`); after != before {
		t.Fatalf("bad input wrote appointments: %d → %d", before, after)
	}
}

// 50 patients race for one slot through the gateway: one wins, 49 get 409,
// and the database holds one active appointment for it.
func TestConcurrentBookingsOfOneSlotThroughGateway(t *testing.T) {
	r := startAppointments(t)
	docID, _ := r.doctor(t, "drrace")
	tokens := make([]string, 50)
	for i := range tokens {
		_, tokens[i] = r.patient(t, fmt.Sprintf("race-%02d", i))
	}
	at := clinicSlot(4, 14, 0)
	statuses := make([]int, len(tokens))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = r.book(t, tok, docID, at).status
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[http.StatusCreated] != 1 || count[http.StatusConflict] != 49 {
		t.Fatalf("statuses: %v", count)
	}
	if n := r.apptCount(t, `SELECT COUNT(*) FROM appointments WHERE doctor_id = ? AND active_slot IS NOT NULL`, docID); n != 1 {
		t.Fatalf("active appointments for the slot: %d", n)
	}
}

// The notification service is down while patients book: bookings succeed,
// and once it is back each email arrives exactly once.
func TestAppointmentBookingsSurviveNotificationOutage(t *testing.T) {
	r := startAppointments(t)
	docID, _ := r.doctor(t, "droutage")
	patID, patTok := r.patient(t, "outage-mai")
	r.waitLogs(t, r.admin, fmt.Sprintf("recipient_id=%d", patID), "registration mail", 60*time.Second, allSent(1))

	if err := r.notifSvc.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		expect(t, "book during outage", r.book(t, patTok, docID, clinicSlot(2, 8+i, 0)), http.StatusCreated)
	}
	pending := func() int {
		return r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'notification' AND status = 'PENDING'`)
	}
	if n := pending(); n != 6 {
		t.Fatalf("pending notifications during outage: %d, want 6", n)
	}
	r.notifSvc.Restart(t, r.consul)
	r.waitSent(t, patID, "APPOINTMENT_REQUESTED_PATIENT", 3)
	r.waitSent(t, docID, "APPOINTMENT_REQUESTED_DOCTOR", 3)
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		if n := pending(); n != 0 {
			return fmt.Errorf("%d notifications still pending", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.notif.mail.WaitFor(t, "to:outage-mai@patients.test", 4, 30*time.Second)
	if got, _ := r.notif.mail.Search(context.Background(), "to:outage-mai@patients.test"); len(got) != 4 {
		t.Fatalf("patient mails: %d, want 4 (registration + 3 requests)", len(got))
	}
}

// Two appointment instances run; appointments confirmed inside the reminder
// window get exactly one reminder per recipient, and a PENDING one none.
func TestAppointmentRemindersOnceWithTwoInstances(t *testing.T) {
	r := startAppointments(t, "REMINDER_BEFORE=72h")
	second := testkit.StartService(t, r.consul, "appointment", testkit.Build(t, "hospital/svc/appointment"), r.apptEnv...)
	r.consul.WaitPassing(t, "appointment", 2, 30*time.Second)
	docID, docTok := r.doctor(t, "drremind")
	patID, patTok := r.patient(t, "remind-mai")
	var ids []int64
	for i := range 2 {
		a := r.book(t, patTok, docID, clinicSlot(2, 9+i, 0))
		expect(t, "book", a, http.StatusCreated)
		ids = append(ids, int64(a.body["id"].(float64)))
	}
	expect(t, "book pending", r.book(t, patTok, docID, clinicSlot(2, 15, 0)), http.StatusCreated)
	for _, id := range ids {
		expect(t, "confirm", r.do(t, http.MethodPut, fmt.Sprintf("/api/v1/appointments/%d/confirm/", id), docTok, nil, nil), http.StatusOK)
	}
	r.waitSent(t, patID, "APPOINTMENT_REMINDER_PATIENT", 2)
	r.waitSent(t, docID, "APPOINTMENT_REMINDER_DOCTOR", 2)
	// The leader keeps passing every 200ms; give both instances many passes,
	// then prove nothing more was sent.
	err := testkit.Until(context.Background(), 30*time.Second, second.Proc, func(context.Context) error {
		if n := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'appointment-reminder-%' AND status = 'DELIVERED'`); n != 4 {
			return fmt.Errorf("%d reminders delivered", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := r.apptCount(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'appointment-reminder-%'`); n != 4 {
		t.Fatalf("reminder messages: %d, want 4", n)
	}
	r.waitSent(t, patID, "APPOINTMENT_REMINDER_PATIENT", 2)
	r.waitSent(t, docID, "APPOINTMENT_REMINDER_DOCTOR", 2)
}
