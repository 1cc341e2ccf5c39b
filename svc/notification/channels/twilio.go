package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hospital/svc/notification/notify"
)

var providerHTTP = &http.Client{Timeout: 20 * time.Second}

// classifyHTTP turns a provider's non-2xx answer into an error: 4xx other
// than auth and throttling is permanent (the request itself is wrong);
// auth failures are a configuration problem an operator fixes, so they are
// retried like 5xx.
func classifyHTTP(provider string, status int, body []byte) error {
	err := fmt.Errorf("%s answered %d: %s", provider, status, clipBytes(body, 300))
	if status >= 400 && status < 500 && status != http.StatusUnauthorized &&
		status != http.StatusForbidden && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return notify.Permanent(err)
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

// Name implements notify.Sender.
func (s *TwilioSender) Name() string { return "twilio" }

// Send implements notify.Sender.
func (s *TwilioSender) Send(ctx context.Context, m notify.Message) (string, error) {
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
