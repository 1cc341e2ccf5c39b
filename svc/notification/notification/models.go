package notification

import (
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Channels a notification travels by.
const (
	ChannelEmail = "EMAIL"
	ChannelSMS   = "SMS"
	ChannelPush  = "PUSH"
)

// Channels lists every channel, in the order the service tries them.
var Channels = []string{ChannelEmail, ChannelSMS, ChannelPush}

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

// Answers of POST /api/v1/notifications/send/.
const (
	AnswerQueued = "QUEUED"
	AnswerSent   = "SENT"
	AnswerFailed = "FAILED"
)

// The notification types the platform's services send (spec sections 1-6).
const (
	TypeUserRegistered              = "USER_REGISTERED"
	TypePasswordResetRequested      = "PASSWORD_RESET_REQUESTED"
	TypeAppointmentRequestedPatient = "APPOINTMENT_REQUESTED_PATIENT"
	TypeAppointmentRequestedDoctor  = "APPOINTMENT_REQUESTED_DOCTOR"
	TypeAppointmentConfirmedPatient = "APPOINTMENT_CONFIRMED_PATIENT"
	TypeAppointmentReminderPatient  = "APPOINTMENT_REMINDER_PATIENT"
	TypeAppointmentReminderDoctor   = "APPOINTMENT_REMINDER_DOCTOR"
	TypePrescriptionReadyForPickup  = "PRESCRIPTION_READY_FOR_PICKUP"
	TypePharmacyStockLow            = "PHARMACY_STOCK_LOW"
	TypeInvoiceGenerated            = "INVOICE_GENERATED"
	TypePaymentSuccessful           = "PAYMENT_SUCCESSFUL"
	TypeInsuranceClaimStatusUpdated = "INSURANCE_CLAIM_STATUS_UPDATED"
	TypeLabResultReadyDoctor        = "LAB_RESULT_READY_DOCTOR"
	TypeLabResultReadyPatient       = "LAB_RESULT_READY_PATIENT"
)

// Collections of the service's database.
const (
	collectionTemplates = "notification_templates"
	collectionLogs      = "notification_logs"
	collectionLeases    = "notification_delivery_leases"
	collectionMeta      = "notification_meta"
)

const (
	maxRenderedLen            = 200_000
	maxDataDepth              = 8
	defaultFallbackLanguage   = "en"
	idempotencyScopeSeparator = "|"
	requestedByServicePrefix  = "svc:"
	requestedByUserPrefix     = "user:"
	autoKeyPrefix             = "auto:"
	sinkProviderPrefix        = "sink-"
	logIDLength               = 24
	leaseResourcePrefix       = "log:"
	seedMetaID                = "default-templates"
	// defaultTemplatesVersion grows when DefaultTypes gains templates; a
	// start with a newer version adds the missing ones.
	defaultTemplatesVersion int64 = 1
)

// Template is a notification_templates document (spec section 7).
type Template struct {
	ID               bson.ObjectID `bson:"_id" json:"id"`
	NotificationType string        `bson:"notification_type" json:"notification_type"`
	Channel          string        `bson:"channel" json:"channel"`
	Language         string        `bson:"language" json:"language"`
	SubjectTemplate  string        `bson:"subject_template" json:"subject_template"`
	BodyTemplateHTML string        `bson:"body_template_html" json:"body_template_html"`
	BodyTemplateText string        `bson:"body_template_text" json:"body_template_text"`
	IsActive         bool          `bson:"is_active" json:"is_active"`
	// Variables are the placeholders the template uses (derived, read-only).
	Variables []string  `bson:"variables" json:"variables"`
	IsDefault bool      `bson:"is_default" json:"is_default"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
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

// Log is a notification_logs document: the record of one message on one
// channel, and its place in the delivery queue while PENDING.
type Log struct {
	// ID is a 24-hex string: derived from the idempotency key and channel
	// when the request carried a key, random otherwise.
	ID                  string         `bson:"_id"`
	RecipientID         int64          `bson:"recipient_id"`
	RecipientContact    string         `bson:"recipient_contact"`
	NotificationType    string         `bson:"notification_type"`
	Channel             string         `bson:"channel"`
	Language            string         `bson:"language"`
	TemplateID          *bson.ObjectID `bson:"template_id,omitempty"`
	Status              string         `bson:"status"`
	SentAt              *time.Time     `bson:"sent_at"`
	ProviderMessageID   *string        `bson:"provider_message_id"`
	ErrorMessage        *string        `bson:"error_message"`
	RenderedSubject     string         `bson:"rendered_subject"`
	RenderedBody        string         `bson:"rendered_body"`
	RenderedBodyText    string         `bson:"rendered_body_text,omitempty"`
	PayloadDataReceived map[string]any `bson:"payload_data_received"`
	Urgent              bool           `bson:"urgent"`
	IdempotencyKey      string         `bson:"idempotency_key"`
	RequestHash         string         `bson:"request_hash"`
	RequestedBy         string         `bson:"requested_by"`
	RequestID           string         `bson:"request_id,omitempty"`
	Attempts            int            `bson:"attempts"`
	NextAttemptAt       time.Time      `bson:"next_attempt_at"`
	SentBy              string         `bson:"sent_by,omitempty"`
	CreatedAt           time.Time      `bson:"created_at"`
	UpdatedAt           time.Time      `bson:"updated_at"`
}

// LogView is a log as the admin endpoints show it. The rendered content,
// the payload and the full contact are PHI: only ADMIN sees them.
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
	RequestedBy         string         `json:"requested_by"`
	SentBy              string         `json:"sent_by"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
	RenderedSubject     *string        `json:"rendered_subject,omitempty"`
	RenderedBody        *string        `json:"rendered_body,omitempty"`
	RenderedBodyText    *string        `json:"rendered_body_text,omitempty"`
	PayloadDataReceived map[string]any `json:"payload_data_received,omitempty"`
}

// View renders l for a viewer; full includes the PHI fields.
func (l Log) View(full bool) LogView {
	v := LogView{
		ID: l.ID, RecipientID: l.RecipientID, RecipientContact: l.RecipientContact,
		NotificationType: l.NotificationType, Channel: l.Channel, Language: l.Language,
		Status: l.Status, SentAt: l.SentAt, ProviderMessageID: l.ProviderMessageID,
		ErrorMessage: l.ErrorMessage, Attempts: l.Attempts, Urgent: l.Urgent,
		RequestedBy: l.RequestedBy, SentBy: l.SentBy, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
	if l.TemplateID != nil {
		s := l.TemplateID.Hex()
		v.TemplateID = &s
	}
	if l.Status == StatusPending {
		t := l.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if !full {
		v.RecipientContact = maskContact(l.RecipientContact)
		return v
	}
	subject, body := l.RenderedSubject, l.RenderedBody
	v.RenderedSubject, v.RenderedBody = &subject, &body
	if l.RenderedBodyText != "" {
		text := l.RenderedBodyText
		v.RenderedBodyText = &text
	}
	v.PayloadDataReceived = l.PayloadDataReceived
	if v.PayloadDataReceived == nil {
		v.PayloadDataReceived = map[string]any{}
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

// SendRequest is the body of POST /api/v1/notifications/send/ (spec section
// 7). channel is the singular form the user service's payloads use.
type SendRequest struct {
	NotificationType   string           `json:"notification_type" validate:"required,max=64"`
	RecipientID        int64            `json:"recipient_id" validate:"required,gt=0"`
	ChannelPreferences []string         `json:"channel_preferences" validate:"omitempty,max=3,dive,oneof=EMAIL SMS PUSH"`
	Channel            string           `json:"channel" validate:"omitempty,oneof=EMAIL SMS PUSH"`
	Data               map[string]any   `json:"data"`
	RecipientContact   *ContactOverride `json:"recipient_contact"`
	Language           string           `json:"language" validate:"max=16"`
	Urgent             bool             `json:"urgent"`
}

// ContactOverride is contact information a caller already has, so the
// service need not ask the user service.
type ContactOverride struct {
	Email       string `json:"email" validate:"omitempty,max=254,email"`
	PhoneNumber string `json:"phone_number" validate:"omitempty,max=32"`
	PushToken   string `json:"push_token" validate:"omitempty,max=4096"`
	Name        string `json:"name" validate:"max=300"`
	Language    string `json:"language" validate:"max=16"`
}

// SendResponse is the answer to a send.
type SendResponse struct {
	Status string   `json:"status"`
	LogID  string   `json:"log_id"`
	LogIDs []string `json:"log_ids"`
	// ErrorMessage says why an urgent send failed.
	ErrorMessage string `json:"error_message,omitempty"`
}

// Contact is how to reach a recipient, from the user service's
// GET /api/v1/admin/users/{id}/contact-info/.
type Contact struct {
	UserID      int64   `json:"user_id"`
	Email       string  `json:"email"`
	PhoneNumber *string `json:"phone_number"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Username    string  `json:"username"`
	PushToken   *string `json:"push_token"`
	Language    string  `json:"language"`
}

// Address is the recipient's address on channel ("" when they have none).
func (c Contact) Address(channel string) string {
	switch channel {
	case ChannelEmail:
		return c.Email
	case ChannelSMS:
		if c.PhoneNumber != nil {
			return *c.PhoneNumber
		}
	case ChannelPush:
		if c.PushToken != nil {
			return *c.PushToken
		}
	}
	return ""
}

// Name is how a message addresses the recipient.
func (c Contact) Name() string {
	switch {
	case c.FirstName != "" && c.LastName != "":
		return c.FirstName + " " + c.LastName
	case c.FirstName != "" || c.LastName != "":
		return c.FirstName + c.LastName
	}
	return c.Username
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
