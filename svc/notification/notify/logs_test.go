package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apperr"
	"hospital/lib/notificationapi"
	"hospital/lib/testkit"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

func TestLogFilters(t *testing.T) {
	clock := testkit.NewClock(time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC))
	e := nt.New(t, nt.Config{NoWorker: true, Options: notify.Options{Now: clock.Now}})
	// One log on 2025-01-15, the others a month later.
	e.MustSend(nt.Registered(e.Doctor, "binh"), "b")
	clock.Advance(30 * 24 * time.Hour)
	for i := range 3 {
		e.MustSend(nt.Registered(e.Patient, "lan"), "a"+strconv.Itoa(i))
	}
	sms := nt.Input(notificationapi.AppointmentReminderPatient, e.Patient, map[string]any{"patient_name": "Lan", "doctor_name": "B", "appointment_time": "t"})
	sms.Channel = "SMS"
	e.MustSend(sms, "c")
	day := func(s string) *time.Time {
		d, _ := time.Parse(time.DateOnly, s)
		return &d
	}
	at := func(s string) *time.Time {
		d, _ := time.Parse(time.RFC3339Nano, s)
		return &d
	}
	for name, c := range map[string]struct {
		f    notify.LogFilter
		want int
	}{
		"all":               {notify.LogFilter{}, 5},
		"recipient":         {notify.LogFilter{RecipientID: e.Patient}, 4},
		"other recipient":   {notify.LogFilter{RecipientID: e.Doctor}, 1},
		"type":              {notify.LogFilter{NotificationType: notificationapi.UserRegistered}, 4},
		"channel":           {notify.LogFilter{Channel: "SMS"}, 1},
		"pending":           {notify.LogFilter{Status: notify.StatusPending}, 5},
		"sent":              {notify.LogFilter{Status: notify.StatusSent}, 0},
		"one day":           {notify.LogFilter{From: day("2025-01-15"), To: day("2025-01-16")}, 1},
		"from a day":        {notify.LogFilter{From: day("2025-01-16")}, 4},
		"before a time":     {notify.LogFilter{To: at("2025-01-15T08:00:00Z")}, 0},
		"just after a time": {notify.LogFilter{To: at("2025-01-15T08:00:00.001Z")}, 1},
		"combined":          {notify.LogFilter{RecipientID: e.Patient, Channel: "EMAIL", Status: notify.StatusPending}, 3},
	} {
		c.f.Limit = 100
		if _, n, err := e.Svc.ListLogs(nt.As(nt.Admin), c.f); err != nil || n != c.want {
			t.Errorf("%s: count %d (%v), want %d", name, n, err, c.want)
		}
	}
	page, n, err := e.Svc.ListLogs(nt.As(nt.Admin), notify.LogFilter{Limit: 2})
	if err != nil || n != 5 || len(page) != 2 || page[0].CreatedAt.Before(page[1].CreatedAt) {
		t.Fatalf("first page, newest first: %+v %d %v", page, n, err)
	}
	for _, f := range []notify.LogFilter{{Status: "LOST"}, {Channel: "FAX"}} {
		_, _, err := e.Svc.ListLogs(nt.As(nt.Admin), f)
		wantKind(t, "bad filter", err, apperr.KindInvalid)
	}
	_, err = e.Svc.GetLog(nt.As(nt.Admin), "0123456789abcdef01234567")
	wantKind(t, "unknown log", err, apperr.KindNotFound)
	_, _, err = e.Svc.ListLogs(nt.As(nt.Identity(e.Patient)), notify.LogFilter{Limit: 1})
	wantKind(t, "a patient", err, apperr.KindForbidden)
}

// A finished log keeps its rendered message and payload for the retention
// period, then only what it was; a PENDING log keeps its content. Two
// runs at once (a leader change) do no harm.
func TestRetentionPurgesContent(t *testing.T) {
	clock := testkit.NewClock(time.Now().UTC())
	e := nt.New(t, nt.Config{NoWorker: true, Options: notify.Options{Now: clock.Now, ContentRetention: 30 * 24 * time.Hour}})
	stop := nt.RunWorker(t, e.Worker)
	sent := e.MustSend(nt.Registered(e.Patient, "lan"), "r1").LogID
	e.WaitLog(sent, "sent", nt.Sent)
	if err := e.Mail.SetChaos(context.Background(), testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	failed := e.MustSend(nt.Registered(e.Doctor, "binh"), "r2").LogID
	e.WaitLog(failed, "failed", func(l notify.Log) bool { return l.Status == notify.StatusFailed })
	stop()
	pending := e.MustSend(nt.Registered(e.Patient, "lan"), "r3").LogID

	admin := nt.As(nt.Admin)
	// Within the period: nothing is purged.
	clock.Advance(29 * 24 * time.Hour)
	if err := e.Svc.Housekeep(admin); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Svc.GetLog(admin, sent); v.RenderedBody == nil || v.ContentPurgedAt != nil {
		t.Fatalf("purged within the retention period: %+v", v)
	}
	clock.Advance(2 * 24 * time.Hour)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := e.Svc.Housekeep(admin); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, id := range []string{sent, failed} {
		v, err := e.Svc.GetLog(admin, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.RenderedSubject != nil || v.RenderedBody != nil || v.PayloadDataReceived != nil || v.ContentPurgedAt == nil ||
			v.RecipientContact == "" || v.NotificationType != notificationapi.UserRegistered || v.SentAt == nil && v.Status == notify.StatusSent {
			t.Fatalf("log %s after the retention period: %+v", id, v)
		}
	}
	if v, _ := e.Svc.GetLog(admin, pending); v.RenderedBody == nil {
		t.Fatalf("a PENDING log lost its content: %+v", v)
	}
	_, err := e.Svc.RetryLog(admin, failed)
	wantKind(t, "retry a log without content", err, apperr.KindConflict)
	// Gone from the database, not only from the answers.
	for _, id := range []string{sent, failed} {
		if n, err := e.DB().Collection("notification_log_contents").CountDocuments(context.Background(), bson.D{{Key: "_id", Value: id}}); err != nil || n != 0 {
			t.Fatalf("log %s: %d contents kept after the purge (%v)", id, n, err)
		}
	}
	if l := e.Log(pending); l.Content == nil || !strings.Contains(l.Content.Body, "lan") {
		t.Fatalf("the PENDING log's content: %+v", l.Content)
	}
}

// A sensitive request (a reset link) is delivered, but neither its data nor
// its message is stored, shown or logged. Not deliverable now, it is the
// sender's to send again: the same request then goes out once.
func TestSensitiveSendsAreNeverStored(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := nt.New(t, nt.Config{Logger: logger})
	const secret = "S3cr3t-reset-token-4711"
	reset := nt.Input(notificationapi.PasswordResetRequested, e.Patient,
		map[string]any{"user_name": "lan", "reset_link": "https://hospital.test/reset-password?token=" + secret})
	reset.Channel, reset.Sensitive = "EMAIL", true

	res, err := e.Send(reset, "password-reset:1")
	if err != nil || res.Queued || res.Answer.Status != notify.AnswerSent {
		t.Fatalf("sensitive send: %+v %v", res, err)
	}
	mails := e.Mail.WaitFor(t, "to:lan@patients.test", 1, 10*time.Second)
	m, err := e.Mail.Message(context.Background(), mails[0].ID)
	if err != nil || !strings.Contains(m.Text, secret) {
		t.Fatalf("the email lacks the link: %v\n%s", err, m.Text)
	}
	again, err := e.Send(reset, "password-reset:1")
	if err != nil || !again.Replayed || again.Answer.Status != notify.AnswerSent {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	v, err := e.Svc.GetLog(nt.As(nt.Admin), res.Answer.LogID)
	if err != nil || !v.Sensitive || v.RenderedBody != nil || v.RenderedSubject != nil || v.PayloadDataReceived != nil || v.Status != notify.StatusSent {
		t.Fatalf("admin view of a sensitive log: %+v %v", v, err)
	}

	// SMTP down: refused for now, nothing kept; the sender's repeat goes
	// out once SMTP is back.
	e.Mail.Stop()
	reset.Data["reset_link"] = "https://hospital.test/reset-password?token=" + secret + "-2"
	_, err = e.Send(reset, "password-reset:2")
	wantKind(t, "sensitive send, SMTP down", err, apperr.KindUnavailable)
	failed, _, _ := e.Svc.ListLogs(nt.As(nt.Admin), notify.LogFilter{Status: notify.StatusFailed, Limit: 10})
	if len(failed) != 1 || !failed[0].Sensitive || failed[0].ErrorMessage == nil {
		t.Fatalf("the failed attempt's log: %+v", failed)
	}
	_, err = e.Svc.RetryLog(nt.As(nt.Admin), failed[0].ID)
	wantKind(t, "an administrator cannot resend what is not kept", err, apperr.KindConflict)
	e.Mail.Start(t)
	if res, err := e.Send(reset, "password-reset:2"); err != nil || res.Answer.Status != notify.AnswerSent {
		t.Fatalf("the sender's repeat: %+v %v", res, err)
	}
	e.Mail.WaitFor(t, "to:lan@patients.test", 2, 10*time.Second)
	if n, _ := e.Mail.Count(context.Background()); n != 2 {
		t.Fatalf("%d emails, want 2", n)
	}

	// Nowhere in the database, nor in the service's log lines.
	db := e.DB()
	names, err := db.ListCollectionNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		cur, err := db.Collection(name).Find(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(context.Background(), &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if raw, _ := bson.MarshalExtJSON(d, false, false); bytes.Contains(raw, []byte(secret)) {
				t.Fatalf("the token is stored in %s: %s", name, raw)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if bytes.Contains(logs.Bytes(), []byte(secret)) {
		t.Fatalf("the token is in the service's log lines")
	}
	if !bytes.Contains(logs.Bytes(), []byte("notification sent")) {
		t.Fatalf("the log lines were not captured: %s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A reset link opens the account: such types are sensitive whatever the
// sender says.
func TestResetLinksAreSensitiveWhateverTheSenderSays(t *testing.T) {
	e := nt.New(t)
	reset := nt.Input(notificationapi.PasswordResetRequested, e.Patient,
		map[string]any{"user_name": "lan", "reset_link": "https://hospital.test/reset-password?token=abc"})
	res, err := e.Send(reset, "password-reset:unflagged")
	if err != nil || res.Queued || res.Answer.Status != notify.AnswerSent {
		t.Fatalf("reset without the flag: %+v %v", res, err)
	}
	l, err := e.Store.GetLog(context.Background(), res.Answer.LogID)
	if err != nil || !l.Sensitive || l.HasContent {
		t.Fatalf("stored: %+v %v", l, err)
	}
	e.Mail.WaitFor(t, "to:lan@patients.test", 1, 10*time.Second)
}
