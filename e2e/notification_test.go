package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

// notificationSecret is the notification service's client secret, as the
// user service in startPlatform knows it (SERVICE_CLIENTS).
const notificationSecret = "e2e-notification-secret"

// serviceToken obtains a service token from the user service (its
// internal endpoint, which the gateway does not route).
func (p *platform) serviceToken(t testing.TB, service, secret string) string {
	t.Helper()
	js, _ := json.Marshal(map[string]string{"service": service, "secret": secret})
	resp, err := http.Post(p.user.URL+svcclient.ServiceTokenPath, "application/json", bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("service token for %s: %d %v", service, resp.StatusCode, err)
	}
	return out.AccessToken
}

const (
	pathSend = "/api/v1/notifications/send/"
	pathLogs = "/api/v1/admin/notification-logs/"
)

// notifier is what the notification service needs besides the platform: a
// FerretDB database and an SMTP server (Mailpit).
type notifier struct {
	mongoURI string
	dbName   string
	mail     *testkit.Mailpit
	bin      string
}

func newNotifier(t testing.TB) *notifier {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	return &notifier{
		mongoURI: f.URI, dbName: f.NewDatabase(t), mail: testkit.StartMailpit(t),
		bin: testkit.Build(t, "hospital/svc/notification"),
	}
}

// start runs one notification instance registered in the platform's Consul.
func (n *notifier) start(t testing.TB, p *platform, extraEnv ...string) *testkit.Service {
	t.Helper()
	env := append([]string{
		"MONGO_URI=" + n.mongoURI,
		"MONGO_DB=" + n.dbName,
		"SMTP_ADDR=" + n.mail.SMTPAddr,
		"SMTP_FROM=Bệnh viện <no-reply@hospital.test>",
		"SERVICE_SECRET=" + notificationSecret,
		"WORKER_POLL_INTERVAL=100ms",
		"RETRY_BACKOFF_BASE=200ms",
		"RETRY_BACKOFF_MAX=1s",
		"SEND_TIMEOUT=5s",
		"DELIVERY_LEASE=30s",
	}, extraEnv...)
	return testkit.StartService(t, p.consul, "notification", n.bin, env...)
}

// waitNotificationRouted waits until the gateway knows /send/ (a request
// without a token is then refused with 401 rather than 404).
func (p *platform) waitNotificationRouted(t testing.TB) {
	t.Helper()
	err := testkit.Until(context.Background(), 30*time.Second, p.gateway.Proc, func(ctx context.Context) error {
		r := p.do(t, http.MethodPost, pathSend, "", map[string]any{}, nil)
		if r.status != http.StatusUnauthorized {
			return fmt.Errorf("send without a token: %d %s", r.status, r.raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type notificationLog struct {
	ID               string     `json:"id"`
	RecipientID      int64      `json:"recipient_id"`
	NotificationType string     `json:"notification_type"`
	Status           string     `json:"status"`
	Attempts         int        `json:"attempts"`
	ErrorMessage     *string    `json:"error_message"`
	SentBy           string     `json:"sent_by"`
	CreatedAt        time.Time  `json:"created_at"`
	SentAt           *time.Time `json:"sent_at"`
	Sensitive        bool       `json:"sensitive"`
	RenderedSubject  *string    `json:"rendered_subject"`
	RenderedBody     *string    `json:"rendered_body"`
}

// notificationLogs reads every log matching query through the gateway.
func (p *platform) notificationLogs(t testing.TB, token, query string) []notificationLog {
	t.Helper()
	logs, err := p.readLogs(t, token, query)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// readLogs reads every log matching query; a 503 (the gateway has no
// instance to send to at the moment, with Retry-After) is an error to wait
// out.
func (p *platform) readLogs(t testing.TB, token, query string) ([]notificationLog, error) {
	t.Helper()
	var out []notificationLog
	for page := 1; ; page++ {
		q := "?page_size=100&page=" + strconv.Itoa(page)
		if query != "" {
			q += "&" + query
		}
		var body struct {
			Count   int               `json:"count"`
			Next    *string           `json:"next"`
			Results []notificationLog `json:"results"`
		}
		r := p.do(t, http.MethodGet, pathLogs+q, token, nil, nil)
		if r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") != "" {
			t.Logf("notification logs: 503 %s", r.raw)
			return nil, fmt.Errorf("notification logs: 503")
		}
		if r.status != http.StatusOK {
			t.Fatalf("notification logs: %d %s", r.status, r.raw)
		}
		if err := json.Unmarshal(r.raw, &body); err != nil {
			t.Fatalf("notification logs: %v", err)
		}
		out = append(out, body.Results...)
		if body.Next == nil {
			return out, nil
		}
	}
}

// waitLogs waits until the logs matching query satisfy cond.
func (p *platform) waitLogs(t testing.TB, token, query, what string, timeout time.Duration, cond func([]notificationLog) error) []notificationLog {
	t.Helper()
	var logs []notificationLog
	err := testkit.Until(context.Background(), timeout, nil, func(ctx context.Context) error {
		var err error
		if logs, err = p.readLogs(t, token, query); err != nil {
			return err
		}
		return cond(logs)
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return logs
}

func allSent(n int) func([]notificationLog) error {
	return func(logs []notificationLog) error {
		sent := 0
		for _, l := range logs {
			if l.Status == "SENT" {
				sent++
			}
		}
		if len(logs) != n || sent != n {
			return fmt.Errorf("%d logs, %d SENT; want %d SENT", len(logs), sent, n)
		}
		return nil
	}
}

func reminder(recipient int64, i int) map[string]any {
	return map[string]any{
		"notification_type": "APPOINTMENT_REMINDER_PATIENT", "recipient_id": recipient, "channel": "EMAIL",
		"data": map[string]any{"patient_name": "Mai", "doctor_name": "Dr. Tran Thi B", "appointment_time": fmt.Sprintf("2026-12-01 09:%02d", i)},
	}
}

var resetToken = regexp.MustCompile(`/password/reset/page/\?token=([^\s"<&]+)`)

// The user service's notifications arrive: registration and password reset
// emails reach the patient, the reset link works, and each outbox message
// is delivered once. Only services and admins may send.
func TestNotificationsForUserFlowsThroughGateway(t *testing.T) {
	// billingClients lets the test send as the billing service too.
	p := startPlatform(t, billingClients)
	n := newNotifier(t)
	n.start(t, p)
	p.waitNotificationRouted(t)
	ctx := context.Background()

	reg := p.register(t, "mai")
	userID := int64(reg.body["id"].(float64))
	mails := n.mail.WaitFor(t, "to:mai@patients.test", 1, 30*time.Second)
	welcome, err := n.mail.Message(ctx, mails[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if welcome.Subject != "Tài khoản của bạn đã được tạo" || len(welcome.To) != 1 || welcome.To[0].Address != "mai@patients.test" ||
		!strings.Contains(welcome.Text, "Xin chào mai,") || !strings.Contains(welcome.HTML, "/api/v1/users/email/confirm/page/?token=") {
		t.Fatalf("registration email: %q to %v\n%s", welcome.Subject, welcome.To, welcome.Text)
	}

	expect(t, "reset request", p.do(t, http.MethodPost, "/api/v1/users/password/reset/", "", map[string]string{"email": "mai@patients.test"}, nil), http.StatusOK)
	mails = n.mail.WaitFor(t, "to:mai@patients.test", 2, 30*time.Second)
	var reset testkit.Mail
	for _, s := range mails {
		if s.Subject == "Yêu cầu đặt lại mật khẩu" {
			if reset, err = n.mail.Message(ctx, s.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := resetToken.FindStringSubmatch(reset.Text)
	if m == nil {
		t.Fatalf("no reset link in the email:\n%s", reset.Text)
	}
	token, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "reset confirm", p.do(t, http.MethodPost, "/api/v1/users/password/reset/confirm/", "",
		map[string]string{"token": token, "new_password": "Green-Bamboo-2027"}, nil), http.StatusOK)
	patient, _ := p.login(t, "mai", "Green-Bamboo-2027")

	// The user service's outbox: the three messages (welcome, reset link,
	// "your password was changed") delivered, once.
	err = testkit.Until(ctx, 30*time.Second, nil, func(ctx context.Context) error {
		rows, err := p.db.QueryContext(ctx, `SELECT idempotency_key, status FROM outbox_messages
			WHERE target_service = 'notification' AND body LIKE ?`, fmt.Sprintf(`%%"recipient_id":%d,%%`, userID))
		if err != nil {
			return err
		}
		defer rows.Close()
		got := map[string]string{}
		for rows.Next() {
			var k, s string
			if err := rows.Scan(&k, &s); err != nil {
				return err
			}
			got[k] = s
		}
		if len(got) != 3 || got["user-registered:"+strconv.FormatInt(userID, 10)] != "DELIVERED" {
			return fmt.Errorf("outbox: %v", got)
		}
		for k, s := range got {
			if s != "DELIVERED" {
				return fmt.Errorf("outbox message %s is %s", k, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := p.login(t, adminUser, adminPass)
	logs := p.waitLogs(t, admin, "recipient_id="+strconv.FormatInt(userID, 10), "the three logs SENT", 30*time.Second, allSent(3))
	for _, l := range logs {
		// The welcome and the reset carry a link with a token: their logs
		// keep no content. The notice of the change keeps its own.
		withLink := l.NotificationType != "PASSWORD_CHANGED"
		if l.Attempts != 1 || (l.RenderedBody == nil) != withLink || l.Sensitive != withLink {
			t.Fatalf("log %+v", l)
		}
	}
	r := p.do(t, http.MethodGet, pathLogs+"?recipient_id="+strconv.FormatInt(userID, 10), admin, nil, nil)
	if strings.Contains(string(r.raw), token) {
		t.Fatalf("the reset token is in the notification logs: %s", r.raw)
	}
	if got, _ := n.mail.Search(ctx, "to:mai@patients.test"); len(got) != 3 {
		t.Fatalf("%d emails to the patient, want exactly 3", len(got))
	}

	// Who may send: a service only its own types.
	billing := p.serviceToken(t, "billing", billingSecret)
	invoice := map[string]any{"notification_type": "INVOICE_GENERATED", "recipient_id": userID, "channel": "EMAIL",
		"data": map[string]any{"invoice_number": "INV-E2E-1", "amount": "150000.00", "due_date": "2026-12-31"}}
	expect(t, "billing sends its invoice notice", p.do(t, http.MethodPost, pathSend, billing, invoice, map[string]string{"Idempotency-Key": "invoice:e2e:1"}), http.StatusAccepted)
	expect(t, "billing sends a password reset", p.do(t, http.MethodPost, pathSend, billing, map[string]any{
		"notification_type": "PASSWORD_RESET_REQUESTED", "recipient_id": userID,
		"data": map[string]any{"user_name": "mai", "reset_link": "https://evil.test/"}}, nil), http.StatusForbidden)
	n.mail.WaitFor(t, "to:mai@patients.test", 4, 30*time.Second)
	good := reminder(userID, 1)
	expect(t, "send without a token", p.do(t, http.MethodPost, pathSend, "", good, nil), http.StatusUnauthorized)
	expect(t, "send with a patient token", p.do(t, http.MethodPost, pathSend, patient, good, nil), http.StatusForbidden)
	expect(t, "logs with a patient token", p.do(t, http.MethodGet, pathLogs, patient, nil, nil), http.StatusForbidden)
	expect(t, "templates with a patient token", p.do(t, http.MethodGet, "/api/v1/admin/notification-templates/", patient, nil, nil), http.StatusForbidden)
	// Bad input is refused and queues nothing.
	bad := reminder(userID, 2)
	bad["notification_type"] = "HOROSCOPE"
	expect(t, "unknown type", p.do(t, http.MethodPost, pathSend, admin, bad, nil), http.StatusBadRequest)
	expect(t, "malformed body", p.doInvalid(t, http.MethodPost, pathSend, admin, `{"notification_type":`, nil), http.StatusBadRequest)
	expect(t, "missing variable", p.do(t, http.MethodPost, pathSend, admin, map[string]any{
		"notification_type": "APPOINTMENT_REMINDER_PATIENT", "recipient_id": userID, "data": map[string]any{"patient_name": "Mai"}}, nil), http.StatusBadRequest)
	expect(t, "unknown recipient", p.do(t, http.MethodPost, pathSend, admin, reminder(999999, 3), nil), http.StatusBadRequest)
	if all := p.notificationLogs(t, admin, ""); len(all) != 4 {
		t.Fatalf("%d logs after refused sends, want 4", len(all))
	}
	// An admin's send goes out.
	r = p.do(t, http.MethodPost, pathSend, admin, good, map[string]string{"Idempotency-Key": "admin-reminder-1"})
	expect(t, "admin send", r, http.StatusAccepted)
	if r.str("status") != "QUEUED" || r.str("log_id") == "" {
		t.Fatalf("send answer: %s", r.raw)
	}
	n.mail.WaitFor(t, "to:mai@patients.test", 5, 30*time.Second)
}

// Two instances share the queue: N sends through the gateway (which spreads
// them over both) are N emails, none twice, repeats included.
func TestNotificationInstancesShareTheQueue(t *testing.T) {
	p := startPlatform(t)
	n := newNotifier(t)
	n.start(t, p)
	n.start(t, p)
	p.consul.WaitPassing(t, "notification", 2, 30*time.Second)
	p.waitNotificationRouted(t)
	ctx := context.Background()
	reg := p.register(t, "queue-patient")
	userID := int64(reg.body["id"].(float64))
	n.mail.WaitFor(t, "to:queue-patient@patients.test", 1, 30*time.Second)
	admin, _ := p.login(t, adminUser, adminPass)

	const sends = 40
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range sends {
		// Every fourth request is sent twice, as a retrying caller would.
		repeats := 1
		if i%4 == 0 {
			repeats = 2
		}
		for range repeats {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r := p.do(t, http.MethodPost, pathSend, admin, reminder(userID, i), map[string]string{"Idempotency-Key": "reminder-" + strconv.Itoa(i)})
				if r.status != http.StatusAccepted {
					t.Errorf("send %d: %d %s", i, r.status, r.raw)
				}
			}()
		}
	}
	wg.Wait()
	logs := p.waitLogs(t, admin, "recipient_id="+strconv.FormatInt(userID, 10), "every log SENT", 60*time.Second, allSent(sends+1))
	n.mail.WaitCount(t, sends+1, 30*time.Second)
	msgs, err := n.mail.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]int{}
	for _, m := range msgs {
		subjects[m.Subject]++
	}
	for i := range sends {
		s := fmt.Sprintf("Nhắc lịch hẹn: 2026-12-01 09:%02d", i)
		if subjects[s] != 1 {
			t.Fatalf("%q arrived %d times", s, subjects[s])
		}
	}
	by := map[string]int{}
	for _, l := range logs {
		by[l.SentBy]++
	}
	t.Logf("emails sent per instance: %v", by)
}

// SMTP is down while sends are queued: they are retried. The service is
// stopped with them pending and started again when SMTP is back: each is
// delivered exactly once.
func TestNotificationRestartAndSMTPOutage(t *testing.T) {
	p := startPlatform(t)
	n := newNotifier(t)
	n.mail.Stop()
	svc := n.start(t, p, "MAX_ATTEMPTS=1000")
	p.waitNotificationRouted(t)
	ctx := context.Background()
	reg := p.register(t, "outage-patient")
	userID := int64(reg.body["id"].(float64))
	admin, _ := p.login(t, adminUser, adminPass)
	const sends = 10
	for i := range sends {
		expect(t, "send", p.do(t, http.MethodPost, pathSend, admin, reminder(userID, i),
			map[string]string{"Idempotency-Key": "outage-" + strconv.Itoa(i)}), http.StatusAccepted)
	}
	query := "recipient_id=" + strconv.FormatInt(userID, 10)
	// The reminders wait in the queue. (The registration email is
	// sensitive: its content is not kept, so the user service's outbox
	// sends it again until it goes out.)
	p.waitLogs(t, admin, query+"&notification_type=APPOINTMENT_REMINDER_PATIENT", "every reminder retried", 60*time.Second, func(logs []notificationLog) error {
		if len(logs) != sends {
			return fmt.Errorf("%d logs, want %d", len(logs), sends)
		}
		for _, l := range logs {
			if l.Status != "PENDING" || l.Attempts < 1 || l.ErrorMessage == nil {
				return fmt.Errorf("log %s: %s after %d attempts", l.ID, l.Status, l.Attempts)
			}
		}
		return nil
	})
	if err := svc.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if c, _ := n.mail.Count(ctx); c != 0 {
		t.Fatalf("%d emails while SMTP was down", c)
	}

	n.mail.Start(t)
	svc.Restart(t, p.consul)
	p.waitNotificationRouted(t)
	logs := p.waitLogs(t, admin, query, "every log SENT after the restart", 60*time.Second, allSent(sends+1))
	n.mail.WaitCount(t, sends+1, 30*time.Second)
	for _, l := range logs {
		if l.Attempts < 2 {
			t.Fatalf("log %s sent at attempt %d: it was not retried", l.ID, l.Attempts)
		}
	}
	msgs, _ := n.mail.Messages(ctx)
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, m.Subject)
	}
	sort.Strings(subjects)
	for i := 1; i < len(subjects); i++ {
		if subjects[i] == subjects[i-1] {
			t.Fatalf("%q delivered twice", subjects[i])
		}
	}
}
