// Package notify holds the notification service's rules: which templates a
// request uses, how it is rendered, who may send what, the delivery queue
// and its retries, what the logs show to whom and how long content is kept.
// It speaks neither HTTP nor BSON: the route table (httpapi) and the store
// (store) adapt it.
package notify

import (
	"strings"
	"time"

	"hospital/lib/notificationapi"
)

// Channels a notification travels by, in the order the service tries them.
var Channels = []string{notificationapi.ChannelEmail, notificationapi.ChannelSMS, notificationapi.ChannelPush}

// Statuses of a notification log (spec: PENDING, SENT, FAILED, DELIVERED).
// DELIVERED is reserved for provider delivery receipts.
const (
	StatusPending   = "PENDING"
	StatusSent      = "SENT"
	StatusFailed    = "FAILED"
	StatusDelivered = "DELIVERED"
)

// Statuses lists the valid log statuses (for filters).
var Statuses = []string{StatusPending, StatusSent, StatusFailed, StatusDelivered}

// Answers of a send.
const (
	AnswerQueued = "QUEUED"
	AnswerSent   = "SENT"
	AnswerFailed = "FAILED"
)

// Template is one message template: a type, a channel and a language
// (spec section 7, notification_templates).
type Template struct {
	ID               string `json:"id"`
	NotificationType string `json:"notification_type"`
	Channel          string `json:"channel"`
	Language         string `json:"language"`
	SubjectTemplate  string `json:"subject_template"`
	BodyTemplateHTML string `json:"body_template_html"`
	BodyTemplateText string `json:"body_template_text"`
	IsActive         bool   `json:"is_active"`
	// Variables are the placeholders the template uses (derived, read-only).
	Variables []string  `json:"variables"`
	IsDefault bool      `json:"is_default"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateInput is the body of POST and PUT on the admin template endpoints.
type TemplateInput struct {
	NotificationType string `json:"notification_type" validate:"required,max=64"`
	Channel          string `json:"channel" validate:"required,oneof=EMAIL SMS PUSH"`
	Language         string `json:"language" validate:"required,max=16"`
	SubjectTemplate  string `json:"subject_template" validate:"max=2000"`
	BodyTemplateHTML string `json:"body_template_html" validate:"max=100000"`
	BodyTemplateText string `json:"body_template_text" validate:"max=100000"`
	IsActive         *bool  `json:"is_active"`
}

// TypeInfo describes a notification type for template authors.
type TypeInfo struct {
	NotificationType string         `json:"notification_type"`
	Variables        []string       `json:"variables"`
	ExampleData      map[string]any `json:"example_data"`
}

// Content is what a log keeps of the message it delivers: the rendered text
// and the data it was rendered from. It is PHI: only ADMIN sees it, and it
// is dropped after the retention period (or never stored, for a sensitive
// request).
type Content struct {
	Subject  string
	Body     string // the HTML of an email that has one, the text otherwise
	BodyText string // the text alternative of an HTML email
	Data     map[string]any
}

// Log is the record of one message on one channel, and its place in the
// delivery queue while PENDING (spec section 7, notification_logs).
type Log struct {
	// ID is a 24-hex string: derived from the idempotency key and channel
	// when the request carried a key, random otherwise.
	ID                string
	RecipientID       int64
	RecipientContact  string
	NotificationType  string
	Channel           string
	Language          string
	TemplateID        string // "" when no template was found
	Status            string
	SentAt            *time.Time
	ProviderMessageID *string
	ErrorMessage      *string
	// HasContent says the store keeps the log's content (not a sensitive
	// request's, not once purged, not a log that was never deliverable);
	// Content holds it when it was loaded (see Logs.Contents) or rendered.
	HasContent      bool
	Content         *Content
	Sensitive       bool
	ContentPurgedAt *time.Time
	// Holder names the instance whose worker the log was handed to and is
	// reserved for, and the batch it came in ("<instance>/<n>"); "" when any
	// instance's poll may take it. Logs of one batch are recorded together.
	Holder         string
	Urgent         bool
	IdempotencyKey string
	RequestHash    string
	RequestedBy    string
	RequestID      string
	Attempts       int
	NextAttemptAt  time.Time
	SentBy         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Claims is how many delivery claims have been recorded on the log; the
	// next delivery claims number Claims+1 (see Queue).
	Claims int64
}

// LogView is a log as the API shows it. The rendered content, the payload
// and the full contact are PHI: only ADMIN sees them.
type LogView struct {
	ID                  string         `json:"id"`
	RecipientID         int64          `json:"recipient_id"`
	RecipientContact    string         `json:"recipient_contact"`
	NotificationType    string         `json:"notification_type"`
	Channel             string         `json:"channel"`
	Language            string         `json:"language"`
	TemplateID          *string        `json:"template_id"`
	Status              string         `json:"status"`
	SentAt              *time.Time     `json:"sent_at"`
	ProviderMessageID   *string        `json:"provider_message_id"`
	ErrorMessage        *string        `json:"error_message"`
	Attempts            int            `json:"attempts"`
	NextAttemptAt       *time.Time     `json:"next_attempt_at"`
	Urgent              bool           `json:"urgent"`
	Sensitive           bool           `json:"sensitive"`
	RequestedBy         string         `json:"requested_by"`
	SentBy              string         `json:"sent_by"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
	ContentPurgedAt     *time.Time     `json:"content_purged_at,omitempty"`
	RenderedSubject     *string        `json:"rendered_subject,omitempty"`
	RenderedBody        *string        `json:"rendered_body,omitempty"`
	RenderedBodyText    *string        `json:"rendered_body_text,omitempty"`
	PayloadDataReceived map[string]any `json:"payload_data_received,omitempty"`
}

// View renders l for a viewer; full includes the PHI fields (when the log
// still has them).
func (l Log) View(full bool) LogView {
	v := LogView{
		ID: l.ID, RecipientID: l.RecipientID, RecipientContact: l.RecipientContact,
		NotificationType: l.NotificationType, Channel: l.Channel, Language: l.Language,
		Status: l.Status, SentAt: l.SentAt, ProviderMessageID: l.ProviderMessageID,
		ErrorMessage: l.ErrorMessage, Attempts: l.Attempts, Urgent: l.Urgent, Sensitive: l.Sensitive,
		RequestedBy: l.RequestedBy, SentBy: l.SentBy, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
		ContentPurgedAt: l.ContentPurgedAt,
	}
	if l.TemplateID != "" {
		id := l.TemplateID
		v.TemplateID = &id
	}
	if l.Status == StatusPending {
		t := l.NextAttemptAt
		v.NextAttemptAt = &t
	}
	// An email's Message-ID is known before it is sent; it is its
	// provider id once the message went out.
	if l.Status != StatusSent && l.Status != StatusDelivered {
		v.ProviderMessageID = nil
	}
	if !full {
		v.RecipientContact = maskContact(l.RecipientContact)
		return v
	}
	if c := l.Content; c != nil {
		subject, body := c.Subject, c.Body
		v.RenderedSubject, v.RenderedBody = &subject, &body
		if c.BodyText != "" {
			text := c.BodyText
			v.RenderedBodyText = &text
		}
		v.PayloadDataReceived = c.Data
		if v.PayloadDataReceived == nil {
			v.PayloadDataReceived = map[string]any{}
		}
	}
	return v
}

// maskContact hides most of an address from viewers who may not see it.
func maskContact(c string) string {
	if c == "" {
		return ""
	}
	if at := strings.LastIndexByte(c, '@'); at > 0 {
		return c[:1] + "***" + c[at:]
	}
	if len(c) <= 4 {
		return "***"
	}
	return "***" + c[len(c)-3:]
}

// SendInput is a send request as this service reads it: the contract's
// SendRequest (lib/notificationapi), with data of any JSON type (numbers,
// lists, nested objects for {{a.b}}).
type SendInput struct {
	notificationapi.SendRequest
	// Data widens the contract's string map; the JSON member is the same.
	Data map[string]any `json:"data"`
}

// ContactOverride is contact information a caller already has (a new email
// address being confirmed, say), so the service need not ask the user
// service.
type ContactOverride = notificationapi.Contact

// SendAnswer is the answer to a send: the contract's response, and why an
// urgent send failed.
type SendAnswer struct {
	notificationapi.SendResponse
	ErrorMessage string `json:"error_message,omitempty"`
}

// SendResult is a send's answer and how it ended: Queued (delivery goes on
// in the background; 202) or done (200), and whether it repeats an earlier
// request's answer.
type SendResult struct {
	Answer   SendAnswer
	Queued   bool
	Replayed bool
}

// LogFilter selects logs for the admin list.
type LogFilter struct {
	RecipientID      int64
	NotificationType string
	Channel          string
	Status           string
	From, To         *time.Time
	// RequestedBy limits the list to one caller's requests ("svc:billing").
	RequestedBy   string
	Offset, Limit int
}

// TemplateFilter selects templates for the admin list.
type TemplateFilter struct {
	NotificationType string
	Channel          string
	Language         string
	IsActive         *bool
	Offset, Limit    int
}
