package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"hospital/svc/notification/notify"
)

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

// Name implements notify.Sender.
func (s *FCMSender) Name() string { return "fcm" }

// Send implements notify.Sender.
func (s *FCMSender) Send(ctx context.Context, m notify.Message) (string, error) {
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
