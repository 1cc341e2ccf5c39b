package notification

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// Message is one rendered message for one address.
type Message struct {
	LogID            string
	NotificationType string
	To               string
	Subject          string
	HTML             string
	Text             string
}

// Sender delivers messages on one channel: SMTP for EMAIL, an SMS provider's
// HTTP API, FCM for PUSH, or a local sink. It returns the provider's id for
// the message.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
	// Name identifies the adapter in logs and metrics ("smtp", "twilio", ...).
	Name() string
}

// PermanentError means the provider refused the message for good (an address
// that does not exist, a push token that is no longer registered): trying
// again cannot help, so the log ends FAILED at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err is a permanent refusal.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// Senders maps a channel to its adapter.
type Senders map[string]Sender

// ---------------------------------------------------------------- SMTP

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port
	Username string
	Password string
	// TLS is none (plain; local Mailpit), starttls (STARTTLS required),
	// opportunistic (STARTTLS when offered) or tls (implicit TLS, port 465).
	TLS     string
	From    string // "Name <address>" or an address
	HELO    string
	Timeout time.Duration
}

// SMTPSender sends email through an SMTP server with go-mail.
type SMTPSender struct {
	host     string
	opts     []gomail.Option
	from     *mail.Address
	idDomain string
}

// NewSMTPSender checks cfg and returns the sender.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("SMTP_ADDR %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("SMTP_ADDR %q: bad port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("SMTP_FROM %q: %w", cfg.From, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(cfg.Timeout)}
	switch strings.ToLower(cfg.TLS) {
	case "", "none":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS))
	case "starttls":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSOpportunistic))
	case "tls":
		opts = append(opts, gomail.WithSSLPort(false))
	default:
		return nil, fmt.Errorf("SMTP_TLS %q: want none, starttls, opportunistic or tls", cfg.TLS)
	}
	// WithSSLPort and WithTLSPortPolicy pick a default port: ours wins.
	opts = append(opts, gomail.WithPort(port))
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	s := &SMTPSender{host: host, opts: opts, from: from, idDomain: domain}
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("smtp settings: %w", err)
	}
	return s, nil
}

// Name implements Sender.
func (s *SMTPSender) Name() string { return "smtp" }

// Send delivers m; the provider id is the Message-ID, derived from the log
// id, so a message in a mailbox can be traced back to its log.
func (s *SMTPSender) Send(ctx context.Context, m Message) (string, error) {
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return "", Permanent(fmt.Errorf("recipient address refused: %w", err))
	}
	msg.Subject(m.Subject)
	id := m.LogID + "@" + s.idDomain
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetGenHeader("X-Notification-Type", m.NotificationType)
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return "", fmt.Errorf("smtp client: %w", err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("smtp connect to %s: %w", s.host, err)
	}
	sendErr := client.SendWithSMTPClient(conn, msg)
	// Once the server accepted the message, a failing QUIT changes nothing.
	_ = client.CloseWithSMTPClient(conn)
	if sendErr != nil {
		var se *gomail.SendError
		if errors.As(sendErr, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			return "", Permanent(fmt.Errorf("smtp server refused the message: %w", sendErr))
		}
		return "", fmt.Errorf("smtp send: %w", sendErr)
	}
	return "<" + id + ">", nil
}

// ---------------------------------------------------------------- HTTP providers

var providerHTTP = &http.Client{Timeout: 20 * time.Second}

// classifyHTTP turns a provider's non-2xx answer into an error: 4xx other
// than auth and throttling is permanent (the request itself is wrong);
// auth failures are a configuration problem an operator fixes, so they are
// retried like 5xx.
func classifyHTTP(provider string, status int, body []byte) error {
	err := fmt.Errorf("%s answered %d: %s", provider, status, clipBytes(body, 300))
	if status >= 400 && status < 500 && status != http.StatusUnauthorized &&
		status != http.StatusForbidden && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return Permanent(err)
	}
	return err
}

func clipBytes(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TwilioConfig is a Twilio-style SMS API account.
type TwilioConfig struct {
	AccountSID          string
	AuthToken           string
	From                string // sender number, or empty with MessagingServiceSID
	MessagingServiceSID string
	BaseURL             string // https://api.twilio.com
}

// TwilioSender sends SMS with the Twilio Messages API
// (POST /2010-04-01/Accounts/{sid}/Messages.json).
type TwilioSender struct {
	cfg    TwilioConfig
	client *http.Client
}

// NewTwilioSender checks cfg and returns the sender.
func NewTwilioSender(cfg TwilioConfig) (*TwilioSender, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twilio: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		return nil, errors.New("twilio: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://api.twilio.com"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &TwilioSender{cfg: cfg, client: providerHTTP}, nil
}

// Name implements Sender.
func (s *TwilioSender) Name() string { return "twilio" }

// Send implements Sender.
func (s *TwilioSender) Send(ctx context.Context, m Message) (string, error) {
	form := url.Values{"To": {m.To}, "Body": {m.Text}}
	if s.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.cfg.MessagingServiceSID)
	} else {
		form.Set("From", s.cfg.From)
	}
	endpoint := s.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(s.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// Twilio deduplicates retried requests carrying the same key.
	req.Header.Set("I-Twilio-Idempotency-Token", m.LogID)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", classifyHTTP("twilio", resp.StatusCode, body)
	}
	var out struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SID == "" {
		return "", fmt.Errorf("twilio: unexpected answer: %s", clipBytes(body, 200))
	}
	return out.SID, nil
}

// FCMConfig is a Firebase project and a service account allowed to send.
type FCMConfig struct {
	ProjectID string
	// CredentialsFile is the service account's JSON key (client_email,
	// private_key, token_uri, project_id).
	CredentialsFile string
	BaseURL         string // https://fcm.googleapis.com
}

// FCMSender sends push notifications with the FCM HTTP v1 API, with an
// OAuth 2 token from the service account (JWT bearer grant).
type FCMSender struct {
	endpoint string
	tokens   oauth2.TokenSource
	client   *http.Client
}

const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// NewFCMSender reads the service account and returns the sender.
func NewFCMSender(cfg FCMConfig) (*FCMSender, error) {
	raw, err := os.ReadFile(cfg.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("fcm: FCM_CREDENTIALS_FILE: %w", err)
	}
	var sa struct {
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
		ProjectID    string `json:"project_id"`
	}
	if err := json.Unmarshal(raw, &sa); err != nil {
		return nil, fmt.Errorf("fcm: service account file: %w", err)
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("fcm: the service account file lacks client_email or private_key")
	}
	if sa.TokenURI == "" {
		sa.TokenURI = "https://oauth2.googleapis.com/token"
	}
	project := cfg.ProjectID
	if project == "" {
		project = sa.ProjectID
	}
	if project == "" {
		return nil, errors.New("fcm: set FCM_PROJECT_ID (or project_id in the service account file)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://fcm.googleapis.com"
	}
	jc := &jwt.Config{
		Email: sa.ClientEmail, PrivateKey: []byte(sa.PrivateKey), PrivateKeyID: sa.PrivateKeyID,
		Scopes: []string{fcmScope}, TokenURL: sa.TokenURI,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, providerHTTP)
	return &FCMSender{
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/v1/projects/" + url.PathEscape(project) + "/messages:send",
		tokens:   jc.TokenSource(ctx),
		client:   providerHTTP,
	}, nil
}

// Name implements Sender.
func (s *FCMSender) Name() string { return "fcm" }

// Send implements Sender.
func (s *FCMSender) Send(ctx context.Context, m Message) (string, error) {
	tok, err := s.tokens.Token()
	if err != nil {
		return "", fmt.Errorf("fcm: access token: %w", err)
	}
	body, _ := json.Marshal(map[string]any{"message": map[string]any{
		"token":        m.To,
		"notification": map[string]string{"title": m.Subject, "body": m.Text},
		"data":         map[string]string{"notification_type": m.NotificationType, "log_id": m.LogID},
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fcm: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", classifyHTTP("fcm", resp.StatusCode, rb)
	}
	var out struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(rb, &out); err != nil || out.Name == "" {
		return "", fmt.Errorf("fcm: unexpected answer: %s", clipBytes(rb, 200))
	}
	return out.Name, nil
}

// ---------------------------------------------------------------- sink

// Sink keeps messages instead of sending them: the SMS and PUSH adapter for
// local runs and tests, where no provider account exists. It logs that a
// message was kept (never its content).
type Sink struct {
	channel string
	log     *slog.Logger
	mu      sync.Mutex
	sent    []Message
}

// NewSink returns a sink for channel.
func NewSink(channel string, log *slog.Logger) *Sink {
	if log == nil {
		log = slog.Default()
	}
	return &Sink{channel: channel, log: log}
}

// Name implements Sender.
func (s *Sink) Name() string { return "sink" }

// Send implements Sender.
func (s *Sink) Send(ctx context.Context, m Message) (string, error) {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	s.log.InfoContext(ctx, "message kept by the local sink", "channel", s.channel, "log_id", m.LogID)
	return sinkProviderPrefix + m.LogID, nil
}

// Sent returns what the sink has kept.
func (s *Sink) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

// ---------------------------------------------------------------- wiring

// ChannelSettings selects and configures the adapters.
type ChannelSettings struct {
	SMTP         SMTPConfig
	SMSProvider  string // sink | twilio
	Twilio       TwilioConfig
	PushProvider string // sink | fcm
	FCM          FCMConfig
}

// BuildSenders returns the adapter for each channel, as configured.
func BuildSenders(cfg ChannelSettings, log *slog.Logger) (Senders, error) {
	smtp, err := NewSMTPSender(cfg.SMTP)
	if err != nil {
		return nil, err
	}
	out := Senders{ChannelEmail: smtp}
	switch cfg.SMSProvider {
	case "", "sink":
		out[ChannelSMS] = NewSink(ChannelSMS, log)
	case "twilio":
		if out[ChannelSMS], err = NewTwilioSender(cfg.Twilio); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("SMS_PROVIDER %q: want sink or twilio", cfg.SMSProvider)
	}
	switch cfg.PushProvider {
	case "", "sink":
		out[ChannelPush] = NewSink(ChannelPush, log)
	case "fcm":
		if out[ChannelPush], err = NewFCMSender(cfg.FCM); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("PUSH_PROVIDER %q: want sink or fcm", cfg.PushProvider)
	}
	return out, nil
}

// ParseChannels reads a comma list of channels (DEFAULT_CHANNELS).
func ParseChannels(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		ch := strings.ToUpper(strings.TrimSpace(part))
		if ch == "" {
			continue
		}
		if !slices.Contains(Channels, ch) {
			return nil, fmt.Errorf("unknown channel %q (want EMAIL, SMS or PUSH)", ch)
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no channel given")
	}
	return out, nil
}
