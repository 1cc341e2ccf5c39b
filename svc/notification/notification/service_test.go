package notification

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

func TestSendQueuesAndDelivers(t *testing.T) {
	e := newEnv(t)
	r := e.send(registered(e.patient, "lan"), "user-registered:101")
	expect(t, "send", r, http.StatusAccepted)
	if r.str("status") != "QUEUED" || len(r.str("log_id")) != 24 {
		t.Fatalf("answer %s", r.raw)
	}
	id := r.str("log_id")
	l := e.waitLog(id, "sent", sent)
	if l.RecipientContact != "lan@patients.test" || l.Language != "vi" || l.Attempts != 1 || l.SentAt == nil ||
		l.ProviderMessageID == nil || *l.ProviderMessageID != "<"+id+"@hospital.test>" || l.SentBy != "worker-1" || l.ErrorMessage != nil {
		t.Fatalf("log after delivery: %+v", l)
	}
	mails := e.mail.WaitFor(t, "to:lan@patients.test", 1, 10*time.Second)
	m, err := e.mail.Message(context.Background(), mails[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Tài khoản của bạn đã được tạo" || !strings.Contains(m.Text, "Xin chào lan,") ||
		!strings.Contains(m.Text, "https://hospital.test/login") || !strings.Contains(m.HTML, `href="https://hospital.test/login"`) {
		t.Fatalf("email: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}

	// ADMIN sees the rendered message and the payload; the service that
	// asked sees the delivery state only.
	admin := e.do(http.MethodGet, PathLogs+id+"/", e.adminToken(), nil, nil)
	expect(t, "admin log", admin, http.StatusOK)
	if admin.str("status") != "SENT" || admin.str("rendered_subject") != "Tài khoản của bạn đã được tạo" ||
		!strings.Contains(admin.str("rendered_body"), "Xin chào lan") || admin.body["payload_data_received"] == nil ||
		admin.str("recipient_contact") != "lan@patients.test" {
		t.Fatalf("admin view: %s", admin.raw)
	}
	svcView := e.do(http.MethodGet, PathLogs+id+"/", e.serviceToken("user"), nil, nil)
	expect(t, "service log", svcView, http.StatusOK)
	for _, k := range []string{"rendered_subject", "rendered_body", "rendered_body_text", "payload_data_received"} {
		if _, ok := svcView.body[k]; ok {
			t.Fatalf("service sees %s: %s", k, svcView.raw)
		}
	}
	if svcView.str("recipient_contact") != "l***@patients.test" || svcView.str("status") != "SENT" {
		t.Fatalf("service view: %s", svcView.raw)
	}
	own := e.do(http.MethodGet, PathLogs, e.serviceToken("user"), nil, nil)
	if own.body["count"] != float64(1) {
		t.Fatalf("service's own logs: %s", own.raw)
	}
	if others := e.do(http.MethodGet, PathLogs, e.serviceToken("billing"), nil, nil); others.body["count"] != float64(0) {
		t.Fatalf("another service's list: %s", others.raw)
	}
	// Another service does not see it at all; a patient may not read logs.
	expect(t, "other service", e.do(http.MethodGet, PathLogs+id+"/", e.serviceToken("billing"), nil, nil), http.StatusNotFound)
	expect(t, "patient", e.do(http.MethodGet, PathLogs+id+"/", e.patientToken(), nil, nil), http.StatusForbidden)
	expect(t, "patient list", e.do(http.MethodGet, PathLogs, e.patientToken(), nil, nil), http.StatusForbidden)
	expect(t, "anonymous list", e.do(http.MethodGet, PathLogs, "", nil, nil), http.StatusUnauthorized)
}

func TestSendIsIdempotent(t *testing.T) {
	e := newEnv(t)
	body := registered(e.patient, "lan")
	first := e.send(body, "user-registered:101")
	expect(t, "first", first, http.StatusAccepted)
	again := e.send(body, "user-registered:101")
	expect(t, "again", again, http.StatusAccepted)
	if again.str("log_id") != first.str("log_id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s (first %s)", again.raw, first.raw)
	}
	e.waitLog(first.str("log_id"), "sent", sent)
	// After delivery, the same request still gets the same answer and
	// sends nothing.
	expect(t, "after delivery", e.send(body, "user-registered:101"), http.StatusAccepted)

	// Concurrent twins (a retry racing the original, on two instances).
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.send(registered(e.doctor, "binh"), "user-registered:202")
			if r.status != http.StatusAccepted {
				t.Errorf("twin %d: %d %s", i, r.status, r.raw)
			}
			ids[i] = r.str("log_id")
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("twins got different logs: %v", ids)
		}
	}
	e.waitLog(ids[0], "sent", sent)

	// The same key for a different request is refused.
	other := registered(e.patient, "someone-else")
	expect(t, "key reuse", e.send(other, "user-registered:101"), http.StatusUnprocessableEntity)
	// Keys are per caller: another service may use the same key.
	h := map[string]string{HeaderIdempotencyKey: "user-registered:101"}
	expect(t, "other caller", e.do(http.MethodPost, PathSend, e.serviceToken("billing"), body, h), http.StatusAccepted)

	if n := e.countLogs(nil); n != 3 {
		t.Fatalf("%d logs, want 3", n)
	}
	e.mail.WaitFor(t, "to:lan@patients.test", 2, 10*time.Second)
	e.waitAllSent()
	if got, _ := e.mail.Search(context.Background(), "to:dr.binh@hospital.test"); len(got) != 1 {
		t.Fatalf("%d emails for the twins, want 1", len(got))
	}
	if got, _ := e.mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 2 {
		t.Fatalf("%d emails to lan, want 2 (user's and billing's)", len(got))
	}
}

func (e *env) waitAllSent() {
	e.t.Helper()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		n, err := e.store.logs.CountDocuments(ctx, bson.D{{Key: "status", Value: StatusPending}})
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d logs still PENDING", n)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func TestSendRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	svc := e.serviceToken("appointment")
	good := registered(e.patient, "lan")
	post := func(token string, body any) result {
		return e.do(http.MethodPost, PathSend, token, body, nil)
	}
	expect(t, "no token", post("", good), http.StatusUnauthorized)
	expect(t, "garbage token", post("not-a-jwt", good), http.StatusUnauthorized)
	expect(t, "patient token", post(e.patientToken(), good), http.StatusForbidden)
	expect(t, "doctor token", post(e.token(auth.Identity{UserID: 7, Role: auth.RoleDoctor}), good), http.StatusForbidden)
	expect(t, "no token, malformed body", post("", "{"), http.StatusUnauthorized)

	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"malformed JSON", `{"notification_type": "USER_REGISTERED",`, ""},
		{"not an object", `[1,2,3]`, ""},
		{"empty body", ``, ""},
		{"trailing data", `{"notification_type":"USER_REGISTERED","recipient_id":101} {}`, ""},
		{"unknown field", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "priority": "high"}, "priority"},
		{"unknown type", map[string]any{"notification_type": "WEATHER_FORECAST", "recipient_id": e.patient, "data": map[string]any{}}, "notification_type"},
		{"lower-case type", map[string]any{"notification_type": "user_registered", "recipient_id": 101}, "notification_type"},
		{"missing type", map[string]any{"recipient_id": 101}, "notification_type"},
		{"missing recipient", map[string]any{"notification_type": "USER_REGISTERED"}, "recipient_id"},
		{"zero recipient", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": 0}, "recipient_id"},
		{"negative recipient", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": -5}, "recipient_id"},
		{"string recipient", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": "101"}, "recipient_id"},
		{"fractional recipient", `{"notification_type":"USER_REGISTERED","recipient_id":1.5}`, "recipient_id"},
		{"unknown recipient", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": 999, "data": map[string]any{"user_name": "x", "confirmation_link": "y"}}, "recipient_id"},
		{"bad channel", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "channel": "FAX"}, "channel"},
		{"bad preference", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "channel_preferences": []string{"EMAIL", "PIGEON"}}, "channel_preferences[1]"},
		{"preferences not a list", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "channel_preferences": "EMAIL"}, "channel_preferences"},
		{"data not an object", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "data": "x"}, "data"},
		{"data key with $", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "data": map[string]any{"$where": "1"}}, "data"},
		{"data key with a dot", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "data": map[string]any{"a.b": "1"}}, "data"},
		{"missing variable", map[string]any{"notification_type": "PASSWORD_RESET_REQUESTED", "recipient_id": e.patient, "channel": "EMAIL", "data": map[string]any{"user_name": "lan"}}, "data"},
		{"no address for the channel", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.doctor, "channel": "SMS", "data": map[string]any{"user_name": "x", "confirmation_link": "y"}}, "channel"},
		{"bad language", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "language": "Tiếng Việt"}, "language"},
		{"bad contact email", map[string]any{"notification_type": "USER_REGISTERED", "recipient_id": e.patient, "recipient_contact": map[string]any{"email": "nope"}}, "recipient_contact.email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := post(svc, c.body)
			expect(t, c.name, r, http.StatusBadRequest)
			if c.field != "" {
				errs, _ := r.body["errors"].(map[string]any)
				if errs[c.field] == nil {
					t.Fatalf("errors %v, want an entry for %q", r.body["errors"], c.field)
				}
			}
		})
	}
	missing := post(svc, cases[20].body)
	if !strings.Contains(missing.str("detail"), "reset_link") {
		t.Fatalf("missing variable not named: %s", missing.raw)
	}
	r := e.do(http.MethodPost, PathSend, svc, strings.Repeat(" ", 2<<20)+"{}", nil)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", r.status)
	}
	if n := e.countLogs(nil); n != 0 {
		t.Fatalf("%d logs recorded for refused requests, want 0", n)
	}
}

func TestLanguageChoice(t *testing.T) {
	e := newEnv(t)
	data := map[string]any{"patient_name": "Nguyen Van A", "doctor_name": "Dr. Tran Thi B", "appointment_time": "2023-12-25 10:00"}
	// send sends to lan in lang (if set), with contact (if set) instead of
	// what the user service has.
	send := func(lang string, contact map[string]any) Log {
		t.Helper()
		body := map[string]any{"notification_type": TypeAppointmentConfirmedPatient, "recipient_id": e.patient, "data": data}
		if lang != "" {
			body["language"] = lang
		}
		if contact != nil {
			body["recipient_contact"] = contact
		}
		r := e.send(body, "")
		expect(t, "send", r, http.StatusAccepted)
		l, err := e.store.GetLog(context.Background(), r.str("log_id"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// The request's language, else the recipient's, else vi, else en. The
	// user service gives every user vi; a caller that knows better says so
	// in recipient_contact.
	if l := send("", nil); l.Language != "vi" || l.RenderedSubject != "Lịch hẹn của bạn đã được xác nhận: 2023-12-25 10:00" {
		t.Fatalf("vi recipient: %s %q", l.Language, l.RenderedSubject)
	}
	english := map[string]any{"email": "lan@patients.test", "language": "en"}
	if l := send("", english); l.Language != "en" || !strings.HasPrefix(l.RenderedSubject, "Your appointment has been confirmed") {
		t.Fatalf("en recipient: %s %q", l.Language, l.RenderedSubject)
	}
	if l := send("en", nil); l.Language != "en" {
		t.Fatalf("request language over the recipient's vi: %s", l.Language)
	}
	if l := send("vi", english); l.Language != "vi" {
		t.Fatalf("request language over the recipient's en: %s", l.Language)
	}
	if l := send("", map[string]any{"email": "lan@patients.test", "language": "fr"}); l.Language != "vi" {
		t.Fatalf("no French template: %s, want the default vi", l.Language)
	}
	// Without a vi template, en.
	_, err := e.store.templates.DeleteOne(context.Background(), bson.D{
		{Key: "notification_type", Value: TypeAppointmentConfirmedPatient}, {Key: "channel", Value: ChannelEmail}, {Key: "language", Value: "vi"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := send("", nil); l.Language != "en" {
		t.Fatalf("fallback: %s, want en", l.Language)
	}
}

func TestChannelPreferences(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{
		"notification_type": TypeAppointmentReminderPatient, "recipient_id": e.patient,
		"channel_preferences": []string{"EMAIL", "SMS", "PUSH"},
		"data":                map[string]any{"patient_name": "Lan", "doctor_name": "Dr. Binh", "appointment_time": "2026-12-01 09:00"},
	}
	r := e.send(body, "reminder:1")
	expect(t, "send", r, http.StatusAccepted)
	ids, _ := r.body["log_ids"].([]any)
	if len(ids) != 3 {
		t.Fatalf("log_ids %s", r.raw)
	}
	email := e.waitLog(ids[0].(string), "sent", sent)
	sms := e.waitLog(ids[1].(string), "sent", sent)
	push, _ := e.store.GetLog(context.Background(), ids[2].(string))
	if email.Channel != ChannelEmail || sms.Channel != ChannelSMS || sms.RecipientContact != "+84901234567" || *sms.ProviderMessageID != "sink-"+sms.ID {
		t.Fatalf("email %+v sms %+v", email, sms)
	}
	if push.Status != StatusFailed || push.ErrorMessage == nil || !strings.Contains(*push.ErrorMessage, "push token") {
		t.Fatalf("push without a token: %+v", push)
	}
	got := e.sms.Sent()
	if len(got) != 1 || got[0].To != "+84901234567" || !strings.Contains(got[0].Text, "Dr. Binh") || strings.Contains(got[0].Text, "<p>") {
		t.Fatalf("sms sink: %+v", got)
	}

	// Contact info carried by the request is used as is.
	r = e.send(map[string]any{
		"notification_type": TypeLabResultReadyPatient, "recipient_id": 555, "channel": "PUSH",
		"recipient_contact": map[string]any{"push_token": "device-1", "language": "en"},
		"data":              map[string]any{"patient_name": "Lan", "order_id": "lab-1"},
	}, "")
	expect(t, "push with contact", r, http.StatusAccepted)
	l := e.waitLog(r.str("log_id"), "sent", sent)
	if l.RecipientContact != "device-1" || l.Language != "en" || l.RenderedSubject != "Your lab results are ready" {
		t.Fatalf("push log: %+v", l)
	}
	if p := e.push.Sent(); len(p) != 1 || p[0].Subject != "Your lab results are ready" {
		t.Fatalf("push sink: %+v", p)
	}
	// Without a channel, the configured default (EMAIL).
	r = e.send(map[string]any{"notification_type": TypeInvoiceGenerated, "recipient_id": e.patient,
		"data": map[string]any{"invoice_number": "INV-1", "amount": "150000.00", "due_date": "2026-12-31"}}, "")
	expect(t, "default channel", r, http.StatusAccepted)
	if l := e.waitLog(r.str("log_id"), "sent", sent); l.Channel != ChannelEmail || !strings.Contains(l.RenderedBody, "150000.00") {
		t.Fatalf("default channel: %+v", l)
	}
}

// Contacts come from the user service. A request that carries the contact
// needs no lookup, so it is served while the user service is down; one that
// does not is answered 503 with nothing recorded, and is accepted once the
// user service is back.
func TestContactLookupNeedsTheUserService(t *testing.T) {
	e := newEnv(t, envConfig{ownUsers: true})
	invoice := func(contact map[string]any) map[string]any {
		body := map[string]any{"notification_type": TypeInvoiceGenerated, "recipient_id": e.patient, "channel": "EMAIL",
			"data": map[string]any{"invoice_number": "INV-7", "amount": "150000.00", "due_date": "2026-12-31"}}
		if contact != nil {
			body["recipient_contact"] = contact
		}
		return body
	}
	r := e.send(invoice(nil), "invoice-1")
	expect(t, "send looked up", r, http.StatusAccepted)
	if l := e.waitLog(r.str("log_id"), "sent", sent); l.RecipientContact != "lan@patients.test" {
		t.Fatalf("looked-up address: %q", l.RecipientContact)
	}

	if err := e.users.svc.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	carried := e.send(invoice(map[string]any{"email": "lan.work@patients.test", "name": "Lan"}), "invoice-2")
	expect(t, "contact carried, user service down", carried, http.StatusAccepted)
	if l := e.waitLog(carried.str("log_id"), "sent", sent); l.RecipientContact != "lan.work@patients.test" {
		t.Fatalf("carried address: %q", l.RecipientContact)
	}
	e.mail.WaitFor(t, "to:lan.work@patients.test", 1, 10*time.Second)

	down := e.send(invoice(nil), "invoice-3")
	expect(t, "lookup, user service down", down, http.StatusServiceUnavailable)
	if down.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", down.header)
	}
	if n := e.countLogs(nil); n != 2 {
		t.Fatalf("%d logs after the refused send, want 2", n)
	}

	// Back (on another port, found through Consul): the caller's retry of
	// the same request is accepted.
	e.users.svc.Restart(t, e.users.consul)
	var again result
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		if again = e.send(invoice(nil), "invoice-3"); again.status != http.StatusAccepted {
			return fmt.Errorf("send after the restart: %d %s", again.status, again.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := e.waitLog(again.str("log_id"), "sent", sent); l.RecipientContact != "lan@patients.test" {
		t.Fatalf("address after the restart: %q", l.RecipientContact)
	}
	e.mail.WaitFor(t, "to:lan@patients.test", 2, 10*time.Second)
}

func TestUrgentSendIsSynchronous(t *testing.T) {
	e := newEnv(t, envConfig{noWorker: true})
	body := registered(e.patient, "lan")
	body["urgent"] = true
	r := e.send(body, "urgent-1")
	expect(t, "urgent", r, http.StatusOK)
	if r.str("status") != "SENT" {
		t.Fatalf("urgent answer %s", r.raw)
	}
	if got, _ := e.mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 1 {
		t.Fatalf("%d emails right after the urgent answer, want 1", len(got))
	}
	// The replay reports the same.
	again := e.send(body, "urgent-1")
	if again.status != http.StatusOK || again.str("status") != "SENT" || again.str("log_id") != r.str("log_id") {
		t.Fatalf("urgent replay: %s", again.raw)
	}

	// Refused for good: FAILED at once, with the reason.
	if err := e.mail.SetChaos(context.Background(), testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	failed := e.send(body, "urgent-2")
	if failed.status != http.StatusOK || failed.str("status") != "FAILED" || !strings.Contains(failed.str("error_message"), "550") {
		t.Fatalf("urgent refused: %s", failed.raw)
	}
	// Server down: the answer says queued, and the log waits for a retry.
	_ = e.mail.SetChaos(context.Background(), testkit.Chaos{})
	e.mail.Stop()
	queued := e.send(body, "urgent-3")
	if queued.status != http.StatusAccepted || queued.str("status") != "QUEUED" || queued.str("error_message") == "" {
		t.Fatalf("urgent with SMTP down: %s", queued.raw)
	}
	l, _ := e.store.GetLog(context.Background(), queued.str("log_id"))
	if l.Status != StatusPending || l.Attempts != 1 {
		t.Fatalf("log after a failed urgent attempt: %+v", l)
	}
}

// SMTP down: the log is retried with backoff and sent once the server is
// back.
func TestSMTPOutageThenRecovery(t *testing.T) {
	e := newEnv(t, envConfig{worker: WorkerOptions{MaxAttempts: 1000}})
	e.mail.Stop()
	r := e.send(registered(e.patient, "lan"), "k1")
	expect(t, "send", r, http.StatusAccepted)
	id := r.str("log_id")
	l := e.waitLog(id, "retried", func(l Log) bool { return l.Attempts >= 2 && l.Status == StatusPending && l.ErrorMessage != nil })
	if !strings.Contains(*l.ErrorMessage, "smtp") || !l.NextAttemptAt.After(l.CreatedAt) {
		t.Fatalf("log while SMTP is down: %+v", l)
	}
	e.mail.Start(t)
	l = e.waitLog(id, "sent", sent)
	if l.Attempts < 3 || l.ErrorMessage != nil {
		t.Fatalf("log after recovery: %+v", l)
	}
	if got, _ := e.mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 1 {
		t.Fatalf("%d emails, want 1", len(got))
	}
}

// With the attempts used up a log ends FAILED with the reason, and an admin
// can queue it again.
func TestAttemptsUsedUpEndFailed(t *testing.T) {
	e := newEnv(t, envConfig{worker: WorkerOptions{MaxAttempts: 3}})
	e.mail.Stop()
	r := e.send(registered(e.doctor, "binh"), "k2")
	expect(t, "send", r, http.StatusAccepted)
	id := r.str("log_id")
	l := e.waitLog(id, "failed", func(l Log) bool { return l.Status == StatusFailed })
	if l.Attempts != 3 || l.ErrorMessage == nil || !strings.HasPrefix(*l.ErrorMessage, "gave up after 3 attempts") {
		t.Fatalf("failed log: attempts %d error %v", l.Attempts, l.ErrorMessage)
	}
	list := e.do(http.MethodGet, PathLogs+"?status=FAILED", e.adminToken(), nil, nil)
	expect(t, "failed list", list, http.StatusOK)
	if list.body["count"] != float64(1) || !strings.HasPrefix(list.body["results"].([]any)[0].(map[string]any)["error_message"].(string), "gave up") {
		t.Fatalf("failed list: %s", list.raw)
	}
	expect(t, "retry by a service", e.do(http.MethodPost, PathLogs+id+"/retry/", e.serviceToken("user"), nil, nil), http.StatusForbidden)
	e.mail.Start(t)
	retry := e.do(http.MethodPost, PathLogs+id+"/retry/", e.adminToken(), nil, nil)
	expect(t, "retry", retry, http.StatusAccepted)
	l = e.waitLog(id, "sent", sent)
	if l.Attempts != 1 {
		t.Fatalf("attempts after an admin retry: %d, want a fresh count", l.Attempts)
	}
	expect(t, "retry a sent log", e.do(http.MethodPost, PathLogs+id+"/retry/", e.adminToken(), nil, nil), http.StatusConflict)
	if got, _ := e.mail.Search(context.Background(), "to:dr.binh@hospital.test"); len(got) != 1 {
		t.Fatalf("%d emails after the retry, want 1", len(got))
	}
}

// Two instances (their own connections, their own workers) on one
// database: every queued log is sent exactly once.
func TestTwoWorkersSendEachLogOnce(t *testing.T) {
	e := newEnv(t, envConfig{noWorker: true})
	const n = 40
	for i := range n {
		id := e.users.register(t, "", map[string]any{"username": "p" + strconv.Itoa(i), "email": fmt.Sprintf("p%d@patients.test", i)})
		expect(t, "send", e.send(registered(id, "p"+strconv.Itoa(i)), "reg:"+strconv.Itoa(i)), http.StatusAccepted)
	}
	other := NewStore(connectDB(t, e.dbName), "other")
	w1 := NewWorker(e.store, e.senders, testWorkerOptions(WorkerOptions{Instance: "worker-1", Concurrency: 3}))
	w2 := NewWorker(other, e.senders, testWorkerOptions(WorkerOptions{Instance: "worker-2", Concurrency: 3}))
	runWorker(t, w1)
	runWorker(t, w2)
	e.waitAllSent()
	e.mail.WaitCount(t, n, 20*time.Second)
	msgs, err := e.mail.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perAddress := map[string]int{}
	for _, m := range msgs {
		perAddress[m.To[0].Address]++
	}
	for i := range n {
		if c := perAddress[fmt.Sprintf("p%d@patients.test", i)]; c != 1 {
			t.Fatalf("p%d got %d emails", i, c)
		}
	}
	by := map[string]int{}
	logs, _, _ := e.store.ListLogs(context.Background(), LogFilter{Limit: n})
	for _, l := range logs {
		if l.Attempts != 1 {
			t.Fatalf("log %s took %d attempts", l.ID, l.Attempts)
		}
		by[l.SentBy]++
	}
	t.Logf("sent by: %v", by)
}

// The service stops with logs queued; started again, it sends each once. A
// log whose holder died mid-delivery is taken over when the lease expires.
func TestRestartDeliversWhatWasQueued(t *testing.T) {
	e := newEnv(t, envConfig{noWorker: true})
	var ids []string
	for i := range 5 {
		r := e.send(registered(e.patient, "lan"+strconv.Itoa(i)), "restart:"+strconv.Itoa(i))
		expect(t, "send", r, http.StatusAccepted)
		ids = append(ids, r.str("log_id"))
	}
	// A holder that took the first log and died without a word.
	dead := NewStore(connectDB(t, e.dbName), "dead")
	lease, err := dead.leases.Acquire(context.Background(), leaseResourcePrefix+ids[0], 4*time.Second)
	if err != nil || lease == nil {
		t.Fatalf("dead holder's lease: %v %v", lease, err)
	}
	if n, _ := e.mail.Count(context.Background()); n != 0 {
		t.Fatalf("%d emails before any worker ran", n)
	}

	// "Restart": a fresh instance with its own store and worker.
	restarted := NewStore(connectDB(t, e.dbName), "restarted")
	w := NewWorker(restarted, e.senders, testWorkerOptions(WorkerOptions{Instance: "restarted"}))
	runWorker(t, w)
	for _, id := range ids[1:] {
		e.waitLog(id, "sent", sent)
	}
	if l, _ := e.store.GetLog(context.Background(), ids[0]); l.Status != StatusPending {
		t.Fatalf("log held by another instance was sent before its lease expired: %+v", l)
	}
	l := e.waitLog(ids[0], "sent after the lease expired", sent)
	if l.SentBy != "restarted" || l.Attempts != 1 {
		t.Fatalf("taken-over log: %+v", l)
	}
	e.mail.WaitCount(t, 5, 10*time.Second)
	if n, _ := e.mail.Count(context.Background()); n != 5 {
		t.Fatalf("%d emails, want 5", n)
	}
}

func TestSeedingAndTemplateAdmin(t *testing.T) {
	e := newEnv(t, envConfig{noWorker: true})
	ctx := context.Background()
	if n, _ := e.store.templates.CountDocuments(ctx, bson.D{}); n != 84 {
		t.Fatalf("%d templates seeded, want 84", n)
	}
	admin := e.adminToken()

	list := e.do(http.MethodGet, PathTemplates+"?notification_type=USER_REGISTERED&channel=EMAIL", admin, nil, nil)
	expect(t, "list", list, http.StatusOK)
	if list.body["count"] != float64(2) {
		t.Fatalf("filtered list: %s", list.raw)
	}
	page := e.do(http.MethodGet, PathTemplates+"?page_size=10&page=2", admin, nil, nil)
	if page.body["count"] != float64(84) || page.body["next"] == nil || page.body["previous"] == nil || len(page.body["results"].([]any)) != 10 {
		t.Fatalf("page 2: count %v next %v previous %v", page.body["count"], page.body["next"], page.body["previous"])
	}
	for _, who := range []string{e.patientToken(), e.serviceToken("user")} {
		expect(t, "non-admin list", e.do(http.MethodGet, PathTemplates, who, nil, nil), http.StatusForbidden)
		expect(t, "non-admin create", e.do(http.MethodPost, PathTemplates, who, map[string]any{}, nil), http.StatusForbidden)
	}

	// An admin edits a default template; a restart keeps the edit and does
	// not bring back a deleted one.
	vi := e.do(http.MethodGet, PathTemplates+"?notification_type=USER_REGISTERED&channel=SMS&language=vi", admin, nil, nil)
	tpl := vi.body["results"].([]any)[0].(map[string]any)
	id := tpl["id"].(string)
	upd := map[string]any{"notification_type": "USER_REGISTERED", "channel": "SMS", "language": "vi",
		"body_template_text": "Chào {{user_name}}! Đăng nhập: {{confirmation_link}}", "is_active": true}
	put := e.do(http.MethodPut, PathTemplates+id+"/", admin, upd, nil)
	expect(t, "put", put, http.StatusOK)
	if put.str("body_template_text") != upd["body_template_text"] || fmt.Sprint(put.body["variables"]) != "[confirmation_link user_name]" {
		t.Fatalf("put: %s", put.raw)
	}
	upd["body_template_text"] = "Chào {{user_name"
	expect(t, "put broken", e.do(http.MethodPut, PathTemplates+id+"/", admin, upd, nil), http.StatusBadRequest)
	delID := e.do(http.MethodGet, PathTemplates+"?notification_type=USER_REGISTERED&channel=PUSH&language=en", admin, nil, nil).body["results"].([]any)[0].(map[string]any)["id"].(string)
	expect(t, "delete", e.do(http.MethodDelete, PathTemplates+delID+"/", admin, nil, nil), http.StatusNoContent)
	expect(t, "get deleted", e.do(http.MethodGet, PathTemplates+delID+"/", admin, nil, nil), http.StatusNotFound)
	expect(t, "delete again", e.do(http.MethodDelete, PathTemplates+delID+"/", admin, nil, nil), http.StatusNotFound)
	expect(t, "bad id", e.do(http.MethodGet, PathTemplates+"not-an-id/", admin, nil, nil), http.StatusNotFound)
	if err := e.store.Init(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.store.templates.CountDocuments(ctx, bson.D{}); n != 83 {
		t.Fatalf("%d templates after a restart, want 83", n)
	}
	got := e.do(http.MethodGet, PathTemplates+id+"/", admin, nil, nil)
	if got.str("body_template_text") != "Chào {{user_name}}! Đăng nhập: {{confirmation_link}}" {
		t.Fatalf("edit lost on restart: %s", got.raw)
	}

	// A new type with its own template is usable at once; its
	// (type, channel, language) is unique.
	create := map[string]any{"notification_type": "VACCINATION_DUE", "channel": "EMAIL", "language": "vi",
		"subject_template": "Lịch tiêm chủng: {{vaccine}}", "body_template_html": "<p>{{vaccine}} vào {{date}}</p>",
		"body_template_text": "{{vaccine}} vào {{date}}"}
	c := e.do(http.MethodPost, PathTemplates, admin, create, nil)
	expect(t, "create", c, http.StatusCreated)
	if c.body["is_active"] != true || c.str("id") == "" {
		t.Fatalf("created: %s", c.raw)
	}
	dup := e.do(http.MethodPost, PathTemplates, admin, create, nil)
	expect(t, "duplicate", dup, http.StatusBadRequest)
	if dup.body["errors"].(map[string]any)["non_field_errors"] == nil {
		t.Fatalf("duplicate: %s", dup.raw)
	}
	// Moving another template onto the taken combination is refused too.
	upd["body_template_text"], upd["notification_type"], upd["channel"] = "x", "VACCINATION_DUE", "EMAIL"
	upd["subject_template"] = "s"
	expect(t, "put onto a taken combination", e.do(http.MethodPut, PathTemplates+id+"/", admin, upd, nil), http.StatusBadRequest)
	for name, bad := range map[string]map[string]any{
		"syntax":    {"notification_type": "X_Y", "channel": "EMAIL", "language": "vi", "subject_template": "s", "body_template_text": "{% if a %}"},
		"channel":   {"notification_type": "X_Y", "channel": "FAX", "language": "vi", "body_template_text": "t"},
		"unknown":   {"notification_type": "X_Y", "channel": "SMS", "language": "vi", "body_template_text": "t", "priority": 1},
		"no fields": {},
	} {
		expect(t, "create "+name, e.do(http.MethodPost, PathTemplates, admin, bad, nil), http.StatusBadRequest)
	}
	r := e.send(map[string]any{"notification_type": "VACCINATION_DUE", "recipient_id": e.patient,
		"data": map[string]any{"vaccine": "Cúm", "date": "2026-12-10"}}, "")
	expect(t, "send new type", r, http.StatusAccepted)
	// An inactive template is not used.
	create["is_active"] = false
	expect(t, "deactivate", e.do(http.MethodPut, PathTemplates+c.str("id")+"/", admin, create, nil), http.StatusOK)
	expect(t, "send with inactive template", e.send(map[string]any{"notification_type": "VACCINATION_DUE", "recipient_id": e.patient,
		"data": map[string]any{"vaccine": "Cúm", "date": "2026-12-10"}}, ""), http.StatusBadRequest)

	types := e.do(http.MethodGet, PathTypes, admin, nil, nil)
	expect(t, "types", types, http.StatusOK)
}

func TestLogFilters(t *testing.T) {
	e := newEnv(t, envConfig{noWorker: true})
	ctx := context.Background()
	for i := range 3 {
		expect(t, "send", e.send(registered(e.patient, "lan"), "a"+strconv.Itoa(i)), http.StatusAccepted)
	}
	expect(t, "send", e.send(registered(e.doctor, "binh"), "b"), http.StatusAccepted)
	expect(t, "send", e.send(map[string]any{"notification_type": TypeAppointmentReminderPatient, "recipient_id": e.patient, "channel": "SMS",
		"data": map[string]any{"patient_name": "Lan", "doctor_name": "B", "appointment_time": "t"}}, "c"), http.StatusAccepted)
	// One old log, to test the date range.
	old := time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC)
	_, err := e.store.logs.UpdateOne(ctx, bson.D{{Key: "_id", Value: logIDFor("svc:user|b", ChannelEmail)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "created_at", Value: old}}}})
	if err != nil {
		t.Fatal(err)
	}
	admin := e.adminToken()
	count := func(q string) int {
		t.Helper()
		r := e.do(http.MethodGet, PathLogs+q, admin, nil, nil)
		expect(t, q, r, http.StatusOK)
		return int(r.body["count"].(float64))
	}
	patient, doctor := strconv.FormatInt(e.patient, 10), strconv.FormatInt(e.doctor, 10)
	for q, want := range map[string]int{
		"":                                   5,
		"?recipient_id=" + patient:           4,
		"?recipient=" + doctor:               1,
		"?notification_type=USER_REGISTERED": 4,
		"?channel=SMS":                       1,
		"?status=PENDING":                    5,
		"?status=SENT":                       0,
		"?date_from=2025-01-15&date_to=2025-01-15":                   1,
		"?date_from=2025-01-16":                                      4,
		"?created_before=2025-01-15T08:00:00Z":                       0,
		"?created_before=2025-01-15T08:00:00.001Z":                   1,
		"?recipient_id=" + patient + "&channel=EMAIL&status=PENDING": 3,
		"?notification_type=APPOINTMENT_REMINDER_PATIENT":            1,
	} {
		if got := count(q); got != want {
			t.Errorf("%q: count %d, want %d", q, got, want)
		}
	}
	p := e.do(http.MethodGet, PathLogs+"?page_size=2", admin, nil, nil)
	results := p.body["results"].([]any)
	if len(results) != 2 || p.body["next"] == nil {
		t.Fatalf("page: %s", p.raw)
	}
	if results[0].(map[string]any)["created_at"].(string) < results[1].(map[string]any)["created_at"].(string) {
		t.Fatal("logs not newest first")
	}
	for _, q := range []string{"?status=LOST", "?channel=FAX", "?recipient_id=abc", "?date_from=yesterday", "?page=0"} {
		r := e.do(http.MethodGet, PathLogs+q, admin, nil, nil)
		if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s: %d", q, r.status)
		}
	}
	expect(t, "unknown log", e.do(http.MethodGet, PathLogs+"0123456789abcdef01234567/", admin, nil, nil), http.StatusNotFound)
	expect(t, "malformed log id", e.do(http.MethodGet, PathLogs+"zzz/", admin, nil, nil), http.StatusNotFound)
}
