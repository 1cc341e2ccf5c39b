package notify_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/notificationapi"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// wantEvent checks who did what to which object (and whose data).
func wantEvent(t *testing.T, ev audit.Event, action string, by auth.Identity, objectType, objectID string, patient int64) {
	t.Helper()
	if ev.Service != notificationapi.Service || ev.Action != action || ev.Outcome != audit.Success ||
		ev.UserID != by.UserID || ev.Role != by.Role || ev.ObjectType != objectType || ev.ObjectID != objectID ||
		ev.PatientID != patient || ev.EventID == "" || ev.Timestamp.IsZero() {
		t.Fatalf("audit event %+v, want %s by user %d (%s) on %s %s, patient %d", ev, action, by.UserID, by.Role,
			objectType, objectID, patient)
	}
}

func detail(ev audit.Event, key string) string { return fmt.Sprint(ev.Details[key]) }

// recipient is the recipient_id detail (JSON numbers come back as float64).
func recipient(ev audit.Event) int64 {
	f, _ := ev.Details["recipient_id"].(float64)
	return int64(f)
}

// Each template change an administrator makes is one audit event, queued
// with the change; a refused change or a repeated PUT makes none.
func TestTemplateChangesAreAuditedOnce(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	admin := nt.As(nt.Admin)
	in := notify.TemplateInput{NotificationType: "WARD_CLOSED", Channel: "SMS", Language: "vi", BodyTemplateText: "Khoa {{ward}} tạm đóng."}
	created, err := e.Svc.CreateTemplate(admin, in)
	if err != nil {
		t.Fatal(err)
	}
	ev := e.AuditEvent(notify.ActionTemplateCreate)
	wantEvent(t, ev, notify.ActionTemplateCreate, nt.Admin, "notification_template", created.ID, 0)
	if detail(ev, "notification_type") != "WARD_CLOSED" || detail(ev, "channel") != "SMS" || detail(ev, "language") != "vi" {
		t.Fatalf("create event details: %v", ev.Details)
	}
	if got, err := e.Svc.GetTemplate(admin, created.ID); err != nil || got.BodyTemplateText != in.BodyTemplateText {
		t.Fatalf("created template: %+v %v", got, err)
	}
	_, err = e.Svc.CreateTemplate(admin, in)
	wantKind(t, "the same type, channel and language again", err, apperr.KindInvalid)
	_, err = e.Svc.CreateTemplate(nt.As(nt.Service("billing")), in)
	wantKind(t, "a service creating a template", err, apperr.KindForbidden)
	e.AuditEvent(notify.ActionTemplateCreate)

	// Through HTTP, as the gateway forwards it: the event carries the
	// request id and the client's address.
	in.BodyTemplateText = "Khoa {{ward}} tạm đóng đến {{until}}."
	path := "/api/v1/admin/notification-templates/" + created.ID + "/"
	headers := map[string]string{"X-Request-ID": "req-audit-0001", "X-Client-IP": "203.0.113.7"}
	nt.Expect(t, "update", e.Do(http.MethodPut, path, e.Token(nt.Admin), in, headers), http.StatusOK)
	ev = e.AuditEvent(notify.ActionTemplateUpdate)
	wantEvent(t, ev, notify.ActionTemplateUpdate, nt.Admin, "notification_template", created.ID, 0)
	if ev.RequestID != "req-audit-0001" || ev.ClientIP != "203.0.113.7" || detail(ev, "changed") != "[body_template_text]" {
		t.Fatalf("update event: %+v", ev)
	}
	// The same PUT again (a client's retry) changes nothing: no event.
	nt.Expect(t, "the same update again", e.Do(http.MethodPut, path, e.Token(nt.Admin), in, headers), http.StatusOK)
	// An update onto a seeded template's type, channel and language is
	// refused and leaves nothing.
	taken := in
	taken.NotificationType, taken.BodyTemplateText = notificationapi.PasswordChanged, "{{user_name}}"
	_, err = e.Svc.UpdateTemplate(admin, created.ID, taken)
	wantKind(t, "update onto a taken set", err, apperr.KindInvalid)
	e.AuditEvent(notify.ActionTemplateUpdate)
	if got, _ := e.Svc.GetTemplate(admin, created.ID); got.NotificationType != "WARD_CLOSED" || got.BodyTemplateText != in.BodyTemplateText {
		t.Fatalf("template after a refused update: %+v", got)
	}

	if err := e.Svc.DeleteTemplate(admin, created.ID); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, e.AuditEvent(notify.ActionTemplateDelete), notify.ActionTemplateDelete, nt.Admin, "notification_template", created.ID, 0)
	wantKind(t, "delete again", e.Svc.DeleteTemplate(admin, created.ID), apperr.KindNotFound)
	// Reading templates is no patient's data: no event.
	if _, _, err := e.Svc.ListTemplates(admin, notify.TemplateFilter{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if evs := e.AuditEvents(""); len(evs) != 3 {
		t.Fatalf("%d audit events, want 3 (create, update, delete): %+v", len(evs), evs)
	}
}

// An administrator's reads of delivery logs are audited: a log read names
// the log and, for a log addressed to a patient, the patient; a list one
// event per recipient, and one for the recipient it was filtered by. The
// sends themselves and a service's reads of its own logs (no content) are
// not.
func TestLogReadsAreAudited(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	admin := nt.As(nt.Admin)
	invoice := e.MustSend(nt.Input(notificationapi.InvoiceGenerated, e.Patient,
		map[string]any{"invoice_number": "INV-1", "amount": "150000.00", "due_date": "2025-01-31"}), "invoice-generated:1")
	welcome := e.MustSend(nt.Registered(e.Doctor, "binh"), "user-registered:doctor")
	if _, err := e.Svc.GetLog(nt.As(nt.Service("billing")), invoice.LogID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Svc.ListLogs(nt.As(nt.Service("billing")), notify.LogFilter{Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if evs := e.AuditEvents(""); len(evs) != 0 {
		t.Fatalf("audit events before any administrator read: %+v", evs)
	}

	v, err := e.Svc.GetLog(admin, invoice.LogID)
	if err != nil || v.RenderedBody == nil {
		t.Fatalf("admin read: %+v %v", v, err)
	}
	ev := e.AuditEvent(notify.ActionLogRead)
	wantEvent(t, ev, notify.ActionLogRead, nt.Admin, "notification_log", invoice.LogID, e.Patient)
	if recipient(ev) != e.Patient || detail(ev, "content") != "true" ||
		detail(ev, "notification_type") != notificationapi.InvoiceGenerated {
		t.Fatalf("read event details: %v", ev.Details)
	}
	// An account notice to a doctor is not a patient's: the recipient is
	// named in the details.
	if _, err := e.Svc.GetLog(admin, welcome.LogID); err != nil {
		t.Fatal(err)
	}
	reads := e.AuditEvents(notify.ActionLogRead)
	if len(reads) != 2 {
		t.Fatalf("%d read events, want 2", len(reads))
	}
	for _, ev := range reads {
		if ev.ObjectID == welcome.LogID {
			wantEvent(t, ev, notify.ActionLogRead, nt.Admin, "notification_log", welcome.LogID, 0)
			if recipient(ev) != e.Doctor {
				t.Fatalf("doctor's log read: %v", ev.Details)
			}
		}
	}

	lists := func(want int) []audit.Event {
		t.Helper()
		evs := e.AuditEvents(notify.ActionLogList)
		if len(evs) != want {
			t.Fatalf("%d list events, want %d: %+v", len(evs), want, evs)
		}
		return evs
	}
	byRecipient := func(evs []audit.Event, id int64) audit.Event {
		t.Helper()
		for _, ev := range evs {
			if ev.ObjectID == strconv.FormatInt(id, 10) {
				return ev
			}
		}
		t.Fatalf("no list event on recipient %d: %+v", id, evs)
		return audit.Event{}
	}
	if _, n, err := e.Svc.ListLogs(admin, notify.LogFilter{RecipientID: e.Patient, Limit: 10}); err != nil || n != 1 {
		t.Fatalf("the patient's logs: %d %v", n, err)
	}
	ev = lists(1)[0]
	wantEvent(t, ev, notify.ActionLogList, nt.Admin, "user", strconv.FormatInt(e.Patient, 10), e.Patient)
	if detail(ev, "logs") != "1" {
		t.Fatalf("list event details: %v", ev.Details)
	}
	// Filtered by a recipient without logs: the search is audited, no
	// patient is named.
	if _, n, err := e.Svc.ListLogs(admin, notify.LogFilter{RecipientID: 987654, Limit: 10}); err != nil || n != 0 {
		t.Fatalf("nobody's logs: %d %v", n, err)
	}
	wantEvent(t, byRecipient(lists(2), 987654), notify.ActionLogList, nt.Admin, "user", "987654", 0)
	// Unfiltered: one event per recipient on the page.
	if _, n, err := e.Svc.ListLogs(admin, notify.LogFilter{Limit: 10}); err != nil || n != 2 {
		t.Fatalf("all logs: %d %v", n, err)
	}
	evs := lists(4)
	wantEvent(t, byRecipient(evs[2:], e.Patient), notify.ActionLogList, nt.Admin, "user", strconv.FormatInt(e.Patient, 10), e.Patient)
	wantEvent(t, byRecipient(evs[2:], e.Doctor), notify.ActionLogList, nt.Admin, "user", strconv.FormatInt(e.Doctor, 10), 0)
}

// A retry of a FAILED log is one audit event, however many administrators
// ask at once; a retry refused makes none, and a second retry after the
// log failed again is a second event.
func TestRetryOfAFailedLogIsAuditedOnce(t *testing.T) {
	e := nt.New(t, nt.Config{Worker: notify.WorkerOptions{MaxAttempts: 1}})
	e.Mail.Stop()
	reminder := nt.Input(notificationapi.AppointmentReminderPatient, e.Patient,
		map[string]any{"patient_name": "Lan", "doctor_name": "Dr. Binh", "appointment_time": "2025-01-20 09:00"})
	reminder.Channel = notificationapi.ChannelEmail
	id := e.MustSend(reminder, "appointment-reminder:1").LogID
	failed := e.WaitLog(id, "failed", func(l notify.Log) bool { return l.Status == notify.StatusFailed })
	e.StopWork()

	const twins = 4
	var wg sync.WaitGroup
	errs := make([]error, twins)
	for i := range twins {
		wg.Go(func() { _, errs[i] = e.Svc.RetryLog(nt.As(nt.Admin), id) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantKind(t, "a twin retry", err, apperr.KindConflict)
	}
	if ok != 1 {
		t.Fatalf("%d retries made, want 1: %v", ok, errs)
	}
	ev := e.AuditEvent(notify.ActionLogRetry)
	wantEvent(t, ev, notify.ActionLogRetry, nt.Admin, "notification_log", id, e.Patient)
	if l := e.Log(id); l.Status != notify.StatusPending || l.Attempts != 0 || l.Claims != failed.Claims {
		t.Fatalf("log after the retry: %+v", l)
	}
	_, err := e.Svc.RetryLog(nt.As(nt.Admin), id)
	wantKind(t, "retry a PENDING log", err, apperr.KindConflict)
	e.AuditEvent(notify.ActionLogRetry)

	// It fails again (SMTP is still down) and is retried again: a second
	// retry, a second event; then it goes out.
	nt.RunWorker(t, e.NewWorker(e.Store, notify.WorkerOptions{MaxAttempts: 1, Instance: "worker-2"}))
	e.WaitLog(id, "failed again", func(l notify.Log) bool { return l.Status == notify.StatusFailed && l.Claims > failed.Claims })
	e.Mail.Start(t)
	if _, err := e.Svc.RetryLog(nt.As(nt.Admin), id); err != nil {
		t.Fatal(err)
	}
	e.WaitLog(id, "sent", nt.Sent)
	if evs := e.AuditEvents(notify.ActionLogRetry); len(evs) != 2 || evs[0].EventID == evs[1].EventID {
		t.Fatalf("retry events: %+v", evs)
	}
}
