package notify_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/notificationapi"
	"hospital/lib/testkit"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

func TestMain(m *testing.M) {
	os.Exit(testkit.Main(m))
}

// wantKind fails t unless err is a domain error of kind.
func wantKind(t *testing.T, what string, err error, kind apperr.Kind) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind {
		t.Fatalf("%s: %v, want a domain error of kind %d", what, err, kind)
	}
	return e
}

func TestSendQueuesAndDelivers(t *testing.T) {
	e := nt.New(t)
	a := e.MustSend(nt.Registered(e.Patient, "lan"), "user-registered:101")
	if a.Status != notify.AnswerQueued || len(a.LogID) != 24 || len(a.LogIDs) != 1 {
		t.Fatalf("answer %+v", a)
	}
	l := e.WaitLog(a.LogID, "sent", nt.Sent)
	if l.RecipientContact != "lan@patients.test" || l.Language != "vi" || l.Attempts != 1 || l.SentAt == nil ||
		l.ProviderMessageID == nil || *l.ProviderMessageID != "<"+a.LogID+"@hospital.test>" || l.SentBy != "worker-1" || l.ErrorMessage != nil {
		t.Fatalf("log after delivery: %+v", l)
	}
	mails := e.Mail.WaitFor(t, "to:lan@patients.test", 1, 10*time.Second)
	m, err := e.Mail.Message(context.Background(), mails[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Tài khoản của bạn đã được tạo" || !strings.Contains(m.Text, "Xin chào lan,") ||
		!strings.Contains(m.Text, "https://hospital.test/login") || !strings.Contains(m.HTML, `href="https://hospital.test/login"`) {
		t.Fatalf("email: %q\n%s\n%s", m.Subject, m.Text, m.HTML)
	}

	// ADMIN sees the rendered message and the payload; the service that
	// asked sees the delivery state only; another service nothing.
	admin, err := e.Svc.GetLog(nt.As(nt.Admin), a.LogID)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Status != "SENT" || *admin.RenderedSubject != "Tài khoản của bạn đã được tạo" ||
		!strings.Contains(*admin.RenderedBody, "Xin chào lan") || admin.PayloadDataReceived["user_name"] != "lan" ||
		admin.RecipientContact != "lan@patients.test" {
		t.Fatalf("admin view: %+v", admin)
	}
	own, err := e.Svc.GetLog(nt.As(nt.Service("user")), a.LogID)
	if err != nil {
		t.Fatal(err)
	}
	if own.RenderedSubject != nil || own.RenderedBody != nil || own.PayloadDataReceived != nil ||
		own.RecipientContact != "l***@patients.test" || own.Status != "SENT" {
		t.Fatalf("service view: %+v", own)
	}
	if _, n, _ := e.Svc.ListLogs(nt.As(nt.Service("user")), notify.LogFilter{Limit: 10}); n != 1 {
		t.Fatalf("the service's own logs: %d", n)
	}
	if _, n, _ := e.Svc.ListLogs(nt.As(nt.Service("billing")), notify.LogFilter{Limit: 10}); n != 0 {
		t.Fatalf("another service's list: %d", n)
	}
	_, err = e.Svc.GetLog(nt.As(nt.Service("billing")), a.LogID)
	wantKind(t, "another service's log", err, apperr.KindNotFound)
}

func TestSendIsIdempotent(t *testing.T) {
	e := nt.New(t)
	in := nt.Registered(e.Patient, "lan")
	first := e.MustSend(in, "user-registered:101")
	again, err := e.Send(in, "user-registered:101")
	if err != nil || again.Answer.LogID != first.LogID || !again.Replayed || !again.Queued {
		t.Fatalf("replay: %+v %v (first %+v)", again, err, first)
	}
	e.WaitLog(first.LogID, "sent", nt.Sent)
	// After delivery, the same request still gets the same answer and
	// sends nothing.
	if after := e.MustSend(in, "user-registered:101"); after.LogID != first.LogID {
		t.Fatalf("after delivery: %+v", after)
	}

	// Concurrent twins (a retry racing the original, on one instance).
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := e.Send(nt.Registered(e.Doctor, "binh"), "user-registered:202")
			if err != nil {
				t.Errorf("twin %d: %v", i, err)
			}
			ids[i] = res.Answer.LogID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("twins got different logs: %v", ids)
		}
	}
	e.WaitLog(ids[0], "sent", nt.Sent)

	// The same key for a different request is refused.
	_, err = e.Send(nt.Registered(e.Patient, "someone-else"), "user-registered:101")
	wantKind(t, "key reused", err, apperr.KindUnprocessable)
	// Keys are per caller: an administrator may use the same key.
	if _, err := e.Svc.Send(nt.As(nt.Admin), in, "user-registered:101"); err != nil {
		t.Fatalf("another caller, same key: %v", err)
	}
	if n := e.CountLogs(notify.LogFilter{}); n != 3 {
		t.Fatalf("%d logs, want 3", n)
	}
	e.Mail.WaitFor(t, "to:lan@patients.test", 2, 10*time.Second)
	e.WaitAllSent()
	if got, _ := e.Mail.Search(context.Background(), "to:dr.binh@hospital.test"); len(got) != 1 {
		t.Fatalf("%d emails for the twins, want 1", len(got))
	}
	if got, _ := e.Mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 2 {
		t.Fatalf("%d emails to lan, want 2 (the user service's and the administrator's)", len(got))
	}
}

// A service sends only its own types (notificationapi.Senders); an
// administrator any type.
func TestServicesSendOnlyTheirOwnTypes(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	reset := nt.Input(notificationapi.PasswordResetRequested, e.Patient, map[string]any{"user_name": "lan", "reset_link": "https://hospital.test/r"})
	for _, svc := range []string{"appointment", "billing", "pharmacy", "lab", "gateway", "notification"} {
		_, err := e.Svc.Send(nt.As(nt.Service(svc)), reset, "")
		wantKind(t, svc+" sending a reset email", err, apperr.KindForbidden)
	}
	invoice := nt.Input(notificationapi.InvoiceGenerated, e.Patient, map[string]any{"invoice_number": "INV-1", "amount": "10.00", "due_date": "2026-12-31"})
	_, err := e.Svc.Send(nt.As(nt.Service("user")), invoice, "")
	wantKind(t, "user sending an invoice", err, apperr.KindForbidden)
	for svc, in := range map[string]notify.SendInput{"user": reset, "billing": invoice} {
		if _, err := e.Svc.Send(nt.As(nt.Service(svc)), in, ""); err != nil {
			t.Fatalf("%s sending its own type: %v", svc, err)
		}
	}
	if _, err := e.Svc.Send(nt.As(nt.Admin), invoice, ""); err != nil {
		t.Fatalf("an administrator: %v", err)
	}
	if n := e.CountLogs(notify.LogFilter{}); n != 3 {
		t.Fatalf("%d logs, want the 3 allowed sends", n)
	}
}

func TestSendRefusesBadRequests(t *testing.T) {
	e := nt.New(t)
	input := func(typ string, recipient int64, mod func(*notify.SendInput)) notify.SendInput {
		in := nt.Input(typ, recipient, map[string]any{"user_name": "x", "confirmation_link": "y"})
		if mod != nil {
			mod(&in)
		}
		return in
	}
	reg := notificationapi.UserRegistered
	cases := []struct {
		name  string
		in    notify.SendInput
		key   string
		field string
	}{
		{"missing type", input("", e.Patient, nil), "", "notification_type"},
		{"lower-case type", input("user_registered", e.Patient, nil), "", "notification_type"},
		{"missing recipient", input(reg, 0, nil), "", "recipient_id"},
		{"negative recipient", input(reg, -5, nil), "", "recipient_id"},
		{"unknown recipient", input(reg, 999999, nil), "", "recipient_id"},
		{"bad channel", input(reg, e.Patient, func(in *notify.SendInput) { in.Channel = "FAX" }), "", "channel"},
		{"bad preference", input(reg, e.Patient, func(in *notify.SendInput) { in.ChannelPreferences = []string{"EMAIL", "PIGEON"} }), "", "channel_preferences[1]"},
		{"too many preferences", input(reg, e.Patient, func(in *notify.SendInput) { in.ChannelPreferences = []string{"EMAIL", "SMS", "PUSH", "EMAIL"} }), "", "channel_preferences"},
		{"data key with $", input(reg, e.Patient, func(in *notify.SendInput) { in.Data = map[string]any{"$where": "1"} }), "", "data"},
		{"data key with a dot", input(reg, e.Patient, func(in *notify.SendInput) { in.Data = map[string]any{"a.b": "1"} }), "", "data"},
		{"NUL in data", input(reg, e.Patient, func(in *notify.SendInput) { in.Data["user_name"] = "a\x00b" }), "", "data"},
		{"missing variable", input(notificationapi.PasswordResetRequested, e.Patient, func(in *notify.SendInput) { in.Data = map[string]any{"user_name": "lan"} }), "", "data"},
		{"no address for the channel", input(reg, e.Doctor, func(in *notify.SendInput) { in.Channel = "SMS" }), "", "channel"},
		{"bad language", input(reg, e.Patient, func(in *notify.SendInput) { in.Language = "Tiếng Việt" }), "", "language"},
		{"control character in a contact", input(reg, e.Patient, func(in *notify.SendInput) {
			in.RecipientContact = &notify.ContactOverride{PhoneNumber: "+84\x00123"}
		}), "", "recipient_contact.phone_number"},
		{"key too long", input(reg, e.Patient, nil), strings.Repeat("k", 201), "Idempotency-Key"},
		{"key not ASCII", input(reg, e.Patient, nil), "kh\xf3a", "Idempotency-Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Svc.Send(nt.As(nt.Admin), c.in, c.key)
			ae := wantKind(t, c.name, err, apperr.KindInvalid)
			if ae.Fields[c.field] == nil {
				t.Fatalf("errors %v, want an entry for %q", ae.Fields, c.field)
			}
		})
	}
	_, err := e.Svc.Send(nt.As(nt.Admin), cases[11].in, "")
	if !strings.Contains(err.Error(), "reset_link") {
		t.Fatalf("missing variable not named: %v", err)
	}
	_, err = e.Svc.Send(nt.As(nt.Admin), input("WEATHER_FORECAST", e.Patient, nil), "")
	if ae := wantKind(t, "unknown type", err, apperr.KindInvalid); ae.Fields["notification_type"] == nil {
		t.Fatalf("unknown type: %v", ae.Fields)
	}
	if n := e.CountLogs(notify.LogFilter{}); n != 0 {
		t.Fatalf("%d logs recorded for refused requests, want 0", n)
	}
}

func TestLanguageChoice(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	data := map[string]any{"patient_name": "Nguyen Van A", "doctor_name": "Dr. Tran Thi B", "appointment_time": "2023-12-25 10:00"}
	// send sends to lan in lang (if set), with contact (if set) instead of
	// what the user service has.
	send := func(lang string, contact *notify.ContactOverride) notify.Log {
		t.Helper()
		in := nt.Input(notificationapi.AppointmentConfirmedPatient, e.Patient, data)
		in.Language, in.RecipientContact = lang, contact
		return e.Log(e.MustSend(in, "").LogID)
	}
	// The request's language, else the recipient's, else vi, else en.
	if l := send("", nil); l.Language != "vi" || l.Content.Subject != "Lịch hẹn của bạn đã được xác nhận: 2023-12-25 10:00" {
		t.Fatalf("vi recipient: %s %q", l.Language, l.Content.Subject)
	}
	english := &notify.ContactOverride{Email: "lan@patients.test", Language: "en"}
	if l := send("", english); l.Language != "en" || !strings.HasPrefix(l.Content.Subject, "Your appointment has been confirmed") {
		t.Fatalf("en recipient: %s %q", l.Language, l.Content.Subject)
	}
	if l := send("en", nil); l.Language != "en" {
		t.Fatalf("request language over the recipient's vi: %s", l.Language)
	}
	if l := send("vi", english); l.Language != "vi" {
		t.Fatalf("request language over the recipient's en: %s", l.Language)
	}
	if l := send("", &notify.ContactOverride{Email: "lan@patients.test", Language: "fr"}); l.Language != "vi" {
		t.Fatalf("no French template: %s, want the default vi", l.Language)
	}
	// Without a vi template, en.
	ctx := nt.As(nt.Admin)
	list, _, err := e.Svc.ListTemplates(ctx, notify.TemplateFilter{NotificationType: notificationapi.AppointmentConfirmedPatient, Channel: "EMAIL", Language: "vi", Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("vi template: %v %v", list, err)
	}
	if err := e.Svc.DeleteTemplate(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if l := send("", nil); l.Language != "en" {
		t.Fatalf("fallback: %s, want en", l.Language)
	}
}

// The recipient's preferences, as the user service keeps them: the
// language of the templates, and the device push notifications go to.
func TestRecipientPreferences(t *testing.T) {
	e := nt.New(t)
	hoa := e.Users.Register(t, "", map[string]any{"username": "hoa", "email": "hoa@patients.test", "first_name": "Hoa", "last_name": "Le"})
	e.Users.Prefer(t, "hoa", "en", "device-of-hoa")
	in := nt.Input(notificationapi.AppointmentReminderPatient, hoa,
		map[string]any{"patient_name": "Hoa", "doctor_name": "Dr. Binh", "appointment_time": "2026-12-01 09:00"})
	in.ChannelPreferences = []string{"EMAIL", "PUSH"}
	a := e.MustSend(in, "reminder:hoa")
	email, push := e.WaitLog(a.LogIDs[0], "sent", nt.Sent), e.WaitLog(a.LogIDs[1], "sent", nt.Sent)
	if email.Language != "en" || email.Content.Subject != "Appointment reminder: 2026-12-01 09:00" || email.RecipientContact != "hoa@patients.test" {
		t.Fatalf("email: %+v %+v", email, email.Content)
	}
	if push.Language != "en" || push.RecipientContact != "device-of-hoa" {
		t.Fatalf("push: %+v", push)
	}
	if p := e.Push.Sent(); len(p) != 1 || p[0].To != "device-of-hoa" || !strings.HasPrefix(p[0].Text, "Reminder:") {
		t.Fatalf("push sink: %+v", p)
	}
	// The request's own language still comes first.
	in.Language = "vi"
	a = e.MustSend(in, "reminder:hoa:vi")
	if l := e.WaitLog(a.LogIDs[0], "sent", nt.Sent); l.Language != "vi" {
		t.Fatalf("request language: %s", l.Language)
	}
}

func TestChannelPreferences(t *testing.T) {
	e := nt.New(t)
	in := nt.Input(notificationapi.AppointmentReminderPatient, e.Patient,
		map[string]any{"patient_name": "Lan", "doctor_name": "Dr. Binh", "appointment_time": "2026-12-01 09:00"})
	in.ChannelPreferences = []string{"EMAIL", "SMS", "PUSH"}
	a := e.MustSend(in, "reminder:1")
	if len(a.LogIDs) != 3 {
		t.Fatalf("log_ids %v", a.LogIDs)
	}
	email := e.WaitLog(a.LogIDs[0], "sent", nt.Sent)
	sms := e.WaitLog(a.LogIDs[1], "sent", nt.Sent)
	push, _ := e.Store.GetLog(context.Background(), a.LogIDs[2])
	if email.Channel != "EMAIL" || sms.Channel != "SMS" || sms.RecipientContact != "+84901234567" || *sms.ProviderMessageID != "sink-"+sms.ID {
		t.Fatalf("email %+v sms %+v", email, sms)
	}
	if push.Status != notify.StatusFailed || push.ErrorMessage == nil || !strings.Contains(*push.ErrorMessage, "push token") {
		t.Fatalf("push without a token: %+v", push)
	}
	got := e.SMS.Sent()
	if len(got) != 1 || got[0].To != "+84901234567" || !strings.Contains(got[0].Text, "Dr. Binh") || strings.Contains(got[0].Text, "<p>") {
		t.Fatalf("sms sink: %+v", got)
	}

	// Contact info carried by the request is used as is: a push token and
	// a preferred language.
	in = nt.Input(notificationapi.LabResultReadyPatient, 555, map[string]any{"patient_name": "Lan", "order_id": "lab-1"})
	in.Channel, in.RecipientContact = "PUSH", &notify.ContactOverride{PushToken: "device-1", Language: "en"}
	a = e.MustSend(in, "")
	l := e.WaitLog(a.LogID, "sent", nt.Sent)
	if l.RecipientContact != "device-1" || l.Language != "en" || l.Content.Subject != "Your lab results are ready" {
		t.Fatalf("push log: %+v", l)
	}
	if p := e.Push.Sent(); len(p) != 1 || p[0].Subject != "Your lab results are ready" || p[0].To != "device-1" {
		t.Fatalf("push sink: %+v", p)
	}
	// Without a channel, the configured default (EMAIL).
	a = e.MustSend(nt.Input(notificationapi.InvoiceGenerated, e.Patient,
		map[string]any{"invoice_number": "INV-1", "amount": "150000.00", "due_date": "2026-12-31"}), "")
	if l := e.WaitLog(a.LogID, "sent", nt.Sent); l.Channel != "EMAIL" || !strings.Contains(l.Content.Body, "150000.00") {
		t.Fatalf("default channel: %+v", l)
	}
}

// Contacts come from the user service. A request that carries the contact
// needs no lookup, so it is served while the user service is down; one that
// does not is refused as unavailable with nothing recorded, and is accepted
// once the user service is back.
func TestContactLookupNeedsTheUserService(t *testing.T) {
	e := nt.New(t, nt.Config{OwnUsers: true})
	invoice := func(contact *notify.ContactOverride) notify.SendInput {
		in := nt.Input(notificationapi.InvoiceGenerated, e.Patient, map[string]any{"invoice_number": "INV-7", "amount": "150000.00", "due_date": "2026-12-31"})
		in.Channel, in.RecipientContact = "EMAIL", contact
		return in
	}
	a := e.MustSend(invoice(nil), "invoice-1")
	if l := e.WaitLog(a.LogID, "sent", nt.Sent); l.RecipientContact != "lan@patients.test" {
		t.Fatalf("looked-up address: %q", l.RecipientContact)
	}
	if err := e.Users.Svc.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	a = e.MustSend(invoice(&notify.ContactOverride{Email: "lan.work@patients.test", Name: "Lan"}), "invoice-2")
	if l := e.WaitLog(a.LogID, "sent", nt.Sent); l.RecipientContact != "lan.work@patients.test" {
		t.Fatalf("carried address: %q", l.RecipientContact)
	}
	_, err := e.Send(invoice(nil), "invoice-3")
	if ae := wantKind(t, "lookup, user service down", err, apperr.KindUnavailable); ae.RetryAfter <= 0 {
		t.Fatalf("unavailable without a time to retry: %+v", ae)
	}
	if n := e.CountLogs(notify.LogFilter{}); n != 2 {
		t.Fatalf("%d logs after the refused send, want 2", n)
	}
	// Back (on another port, found through Consul): the caller's retry of
	// the same request is accepted.
	e.Users.Svc.Restart(t, e.Users.Consul)
	var again notify.SendResult
	err = testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		again, err = e.Send(invoice(nil), "invoice-3")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if l := e.WaitLog(again.Answer.LogID, "sent", nt.Sent); l.RecipientContact != "lan@patients.test" {
		t.Fatalf("address after the restart: %q", l.RecipientContact)
	}
	e.Mail.WaitFor(t, "to:lan@patients.test", 2, 10*time.Second)
}
