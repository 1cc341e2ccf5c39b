package channels

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/testkit"
	"hospital/svc/notification/notify"
)

func TestMain(m *testing.M) {
	os.Exit(testkit.Main(m))
}

var (
	IsPermanent = notify.IsPermanent
)

type Message = notify.Message

func TestSMTPSenderDeliversToMailpit(t *testing.T) {
	mp := testkit.StartMailpit(t)
	s, err := NewSMTPSender(SMTPConfig{Addr: mp.SMTPAddr, From: "Bệnh viện Đa khoa <no-reply@hospital.test>", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := s.Send(ctx, Message{
		LogID: "0123456789abcdef01234567", NotificationType: "USER_REGISTERED", To: "lan@patients.test",
		Subject: "Tài khoản của bạn đã được tạo", HTML: "<p>Xin chào <b>Lan</b></p>", Text: "Xin chào Lan",
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "<0123456789abcdef01234567@hospital.test>" {
		t.Fatalf("provider id %q", id)
	}
	got := mp.WaitFor(t, "to:lan@patients.test", 1, 10*time.Second)
	m, err := mp.Message(ctx, got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Tài khoản của bạn đã được tạo" || m.From.Address != "no-reply@hospital.test" || m.From.Name != "Bệnh viện Đa khoa" {
		t.Fatalf("message header: %+v", m)
	}
	if strings.TrimSpace(m.Text) != "Xin chào Lan" || !strings.Contains(m.HTML, "<b>Lan</b>") {
		t.Fatalf("bodies: text %q html %q", m.Text, m.HTML)
	}
	if m.MessageID != "0123456789abcdef01234567@hospital.test" {
		t.Fatalf("Message-ID %q", m.MessageID)
	}

	// An address the server refuses for good is a permanent failure; a
	// temporary refusal is not.
	if err := mp.SetChaos(ctx, testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(ctx, Message{LogID: "a", To: "gone@patients.test", Subject: "s", Text: "t"})
	if err == nil || !IsPermanent(err) {
		t.Fatalf("550: %v, want a permanent error", err)
	}
	if err := mp.SetChaos(ctx, testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 451, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(ctx, Message{LogID: "b", To: "busy@patients.test", Subject: "s", Text: "t"})
	if err == nil || IsPermanent(err) {
		t.Fatalf("451: %v, want a temporary error", err)
	}
	_ = mp.SetChaos(ctx, testkit.Chaos{})

	// A malformed address never reaches the server.
	if _, err := s.Send(ctx, Message{LogID: "c", To: "not an address", Subject: "s", Text: "t"}); !IsPermanent(err) {
		t.Fatalf("malformed address: %v", err)
	}
	// Server down: temporary.
	mp.Stop()
	if _, err := s.Send(ctx, Message{LogID: "d", To: "x@patients.test", Subject: "s", Text: "t"}); err == nil || IsPermanent(err) {
		t.Fatalf("server down: %v, want a temporary error", err)
	}
}

func TestSMTPSettings(t *testing.T) {
	for _, bad := range []SMTPConfig{
		{Addr: "no-port", From: "a@b.c"},
		{Addr: "h:25", From: "not an address"},
		{Addr: "h:25", From: "a@b.c", TLS: "maybe"},
	} {
		if _, err := NewSMTPSender(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	for _, mode := range []string{"none", "starttls", "opportunistic", "tls"} {
		if _, err := NewSMTPSender(SMTPConfig{Addr: "smtp.example.com:587", From: "a@b.c", TLS: mode, Username: "u", Password: "p"}); err != nil {
			t.Errorf("SMTP_TLS=%s: %v", mode, err)
		}
	}
	// STARTTLS required but not offered (Mailpit has no certificate): the
	// message is not sent in clear.
	mp := testkit.StartMailpit(t)
	s, err := NewSMTPSender(SMTPConfig{Addr: mp.SMTPAddr, From: "a@hospital.test", TLS: "starttls", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), Message{LogID: "x", To: "y@patients.test", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("sent without the required STARTTLS")
	}
	if n, _ := mp.Count(context.Background()); n != 0 {
		t.Fatalf("%d messages reached the server in clear", n)
	}
}

// The Twilio adapter against a server that checks what Twilio checks.
func TestTwilioSender(t *testing.T) {
	var status atomic.Int32
	status.Store(201)
	var got url.Values
	var gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !ok || user != "AC123" || pass != "tok" {
			http.Error(w, `{"code":20003,"message":"Authenticate"}`, http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		got, gotKey = r.PostForm, r.Header.Get("I-Twilio-Idempotency-Token")
		w.WriteHeader(int(status.Load()))
		if status.Load() == 201 {
			_, _ = io.WriteString(w, `{"sid":"SM0001","status":"queued"}`)
		} else {
			_, _ = io.WriteString(w, `{"code":21211,"message":"Invalid 'To' Phone Number","status":400}`)
		}
	}))
	defer srv.Close()
	s, err := NewTwilioSender(TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "+15005550006", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Send(context.Background(), Message{LogID: "log1", To: "+84901234567", Text: "Xin chào"})
	if err != nil || id != "SM0001" {
		t.Fatalf("send: %q %v", id, err)
	}
	if got.Get("To") != "+84901234567" || got.Get("From") != "+15005550006" || got.Get("Body") != "Xin chào" || gotKey != "log1" {
		t.Fatalf("request form %v key %q", got, gotKey)
	}
	status.Store(400)
	if _, err := s.Send(context.Background(), Message{LogID: "log2", To: "bad", Text: "x"}); !IsPermanent(err) {
		t.Fatalf("400: %v, want permanent", err)
	}
	for _, st := range []int32{429, 500, 503} {
		status.Store(st)
		if _, err := s.Send(context.Background(), Message{LogID: "log3", To: "+1", Text: "x"}); err == nil || IsPermanent(err) {
			t.Fatalf("%d: %v, want temporary", st, err)
		}
	}
	wrong, _ := NewTwilioSender(TwilioConfig{AccountSID: "AC123", AuthToken: "wrong", From: "+1", BaseURL: srv.URL})
	if _, err := wrong.Send(context.Background(), Message{LogID: "l", To: "+1", Text: "x"}); err == nil || IsPermanent(err) {
		t.Fatalf("bad credentials: %v, want temporary (an operator fixes them)", err)
	}
	if _, err := NewTwilioSender(TwilioConfig{AccountSID: "AC1", AuthToken: "t"}); err == nil {
		t.Fatal("accepted a Twilio account without a sender")
	}
}

// The FCM adapter: a service-account JWT grant for the token, then the v1
// send endpoint with it.
func TestFCMSender(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	var sendStatus atomic.Int32
	sendStatus.Store(200)
	var grants atomic.Int32
	var gotMsg map[string]any
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.PostForm.Get("assertion") == "" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		grants.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"ya29.test","token_type":"Bearer","expires_in":3600}`)
	})
	mux.HandleFunc("POST /v1/projects/hospital-app/messages:send", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ya29.test" {
			http.Error(w, `{"error":{"status":"UNAUTHENTICATED"}}`, http.StatusUnauthorized)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&gotMsg)
		w.WriteHeader(int(sendStatus.Load()))
		if sendStatus.Load() == 200 {
			_, _ = io.WriteString(w, `{"name":"projects/hospital-app/messages/0:1500415314455276%31bd1c9631bd1c96"}`)
		} else {
			_, _ = io.WriteString(w, `{"error":{"code":404,"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}`)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "hospital-app", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "push@hospital-app.iam.gserviceaccount.com", "token_uri": srv.URL + "/token",
	})
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewFCMSender(FCMConfig{CredentialsFile: file, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		id, err := s.Send(context.Background(), Message{LogID: "log1", NotificationType: "LAB_RESULT_READY_PATIENT", To: "device-token-1", Subject: "Kết quả", Text: "Đã có kết quả"})
		if err != nil || !strings.HasPrefix(id, "projects/hospital-app/messages/") {
			t.Fatalf("send %d: %q %v", i, id, err)
		}
	}
	if grants.Load() != 1 {
		t.Fatalf("%d token grants for two sends, want 1 (cached)", grants.Load())
	}
	m := gotMsg["message"].(map[string]any)
	n := m["notification"].(map[string]any)
	if m["token"] != "device-token-1" || n["title"] != "Kết quả" || n["body"] != "Đã có kết quả" || m["data"].(map[string]any)["log_id"] != "log1" {
		t.Fatalf("message %v", gotMsg)
	}
	sendStatus.Store(404)
	if _, err := s.Send(context.Background(), Message{LogID: "l2", To: "stale"}); !IsPermanent(err) {
		t.Fatalf("UNREGISTERED: %v, want permanent", err)
	}
	sendStatus.Store(503)
	if _, err := s.Send(context.Background(), Message{LogID: "l3", To: "t"}); err == nil || IsPermanent(err) {
		t.Fatalf("503: %v, want temporary", err)
	}
}

func TestBuild(t *testing.T) {
	smtp := SMTPConfig{Addr: "127.0.0.1:1025", From: "no-reply@hospital.test"}
	s, closeAll, err := Build(Settings{SMTP: smtp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if s["EMAIL"].Name() != "smtp" || s["SMS"].Name() != "sink" || s["PUSH"].Name() != "sink" {
		t.Fatalf("defaults: %v %v %v", s["EMAIL"].Name(), s["SMS"].Name(), s["PUSH"].Name())
	}
	s, _, err = Build(Settings{SMTP: smtp, SMSProvider: "twilio", Twilio: TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+1"}}, nil)
	if err != nil || s["SMS"].Name() != "twilio" {
		t.Fatalf("twilio: %v", err)
	}
	for _, bad := range []Settings{
		{SMTP: smtp, SMSProvider: "carrier-pigeon"},
		{SMTP: smtp, PushProvider: "apns"},
		{SMTP: smtp, SMSProvider: "twilio"},
		{SMTP: smtp, PushProvider: "fcm", FCM: FCMConfig{CredentialsFile: "/nonexistent.json"}},
	} {
		if _, _, err := Build(bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
