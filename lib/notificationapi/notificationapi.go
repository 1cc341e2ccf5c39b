// Package notificationapi is the notification service's contract with the
// services that send notifications: the send path, the request the spec
// defines, and the types each template expects. Senders put a SendRequest in
// their outbox (Message); nothing else is needed to notify a user.
package notificationapi

import (
	"net/http"

	"hospital/lib/outbox"
)

// Service is the notification service's name in Consul.
const Service = "notification"

// SendPath is the spec's send endpoint (POST, service tokens).
const SendPath = "/api/v1/notifications/send/"

// Channels.
const (
	ChannelEmail = "EMAIL"
	ChannelSMS   = "SMS"
	ChannelPush  = "PUSH"
)

// The notification types of the platform, and the data keys each default
// template uses (a missing key is a 400, which the sender's outbox records as
// a permanent failure: send them all). Each sending service may send only its
// own types; the notification service enforces it.
const (
	UserRegistered         = "USER_REGISTERED"          // user: user_name, confirmation_link
	PasswordResetRequested = "PASSWORD_RESET_REQUESTED" // user: user_name, reset_link
	PasswordChanged        = "PASSWORD_CHANGED"         // user: user_name
	EmailChangeRequested   = "EMAIL_CHANGE_REQUESTED"   // user: user_name, confirmation_link (to the new address)
	EmailChanged           = "EMAIL_CHANGED"            // user: user_name, new_email (to the old address)
	AccountLocked          = "ACCOUNT_LOCKED"           // user: user_name

	AppointmentRequestedPatient = "APPOINTMENT_REQUESTED_PATIENT" // appointment: patient_name, doctor_name, appointment_time
	AppointmentRequestedDoctor  = "APPOINTMENT_REQUESTED_DOCTOR"
	AppointmentConfirmedPatient = "APPOINTMENT_CONFIRMED_PATIENT"
	AppointmentReminderPatient  = "APPOINTMENT_REMINDER_PATIENT"
	AppointmentReminderDoctor   = "APPOINTMENT_REMINDER_DOCTOR"

	PrescriptionReadyForPickup = "PRESCRIPTION_READY_FOR_PICKUP" // pharmacy: patient_name, prescription_id
	PharmacyStockLow           = "PHARMACY_STOCK_LOW"            // pharmacy: medication_name, quantity_on_hand, reorder_level

	InvoiceGenerated            = "INVOICE_GENERATED"              // billing: invoice_number, amount, due_date
	PaymentSuccessful           = "PAYMENT_SUCCESSFUL"             // billing: invoice_number, amount
	InsuranceClaimStatusUpdated = "INSURANCE_CLAIM_STATUS_UPDATED" // billing: claim_id, invoice_number, status
	LabResultReadyDoctor        = "LAB_RESULT_READY_DOCTOR"        // lab: patient_name, order_id
	LabResultReadyPatient       = "LAB_RESULT_READY_PATIENT"       // lab: patient_name, order_id
	LabResultCritical           = "LAB_RESULT_CRITICAL"            // lab: patient_name, order_id, test_name
)

// SendRequest is the spec's send payload.
type SendRequest struct {
	NotificationType   string            `json:"notification_type"`
	RecipientID        int64             `json:"recipient_id"`
	Channel            string            `json:"channel,omitempty"`
	ChannelPreferences []string          `json:"channel_preferences,omitempty"`
	Data               map[string]string `json:"data"`
	// RecipientContact is contact information the sender already has (a
	// new email address being confirmed): it is used instead of the user
	// service's.
	RecipientContact *Contact `json:"recipient_contact,omitempty"`
	// Language (vi, en) overrides the recipient's preferred one.
	Language string `json:"language,omitempty" validate:"omitempty,max=16"`
	// Sensitive data (a reset link) is delivered but never stored in the
	// notification log or shown by the API.
	Sensitive bool `json:"sensitive,omitempty"`
	Urgent    bool `json:"urgent,omitempty"`
}

// Contact is how to reach a recipient, when the sender knows better than
// the user service.
type Contact struct {
	Email       string `json:"email,omitempty" validate:"omitempty,max=254,email"`
	PhoneNumber string `json:"phone_number,omitempty" validate:"omitempty,max=32"`
	PushToken   string `json:"push_token,omitempty" validate:"omitempty,max=4096"`
	Name        string `json:"name,omitempty" validate:"max=300"`
	Language    string `json:"language,omitempty" validate:"max=16"`
}

// SendResponse answers a send.
type SendResponse struct {
	Status string   `json:"status"`
	LogID  string   `json:"log_id"`
	LogIDs []string `json:"log_ids"`
}

// Message is req as an outbox message under key: the same business event
// must always give the same key (e.g. "invoice-generated:42"), so the
// notification service sends it once however often it is delivered.
func Message(key string, req SendRequest) outbox.Message {
	return outbox.Message{Key: key, Service: Service, Method: http.MethodPost, Path: SendPath, Body: req}
}

// Senders lists the types each service may send; the notification service
// refuses a service token sending another service's type (403).
var Senders = map[string][]string{
	"user": {UserRegistered, PasswordResetRequested, PasswordChanged, EmailChangeRequested, EmailChanged, AccountLocked},
	"appointment": {AppointmentRequestedPatient, AppointmentRequestedDoctor, AppointmentConfirmedPatient,
		AppointmentReminderPatient, AppointmentReminderDoctor},
	"pharmacy": {PrescriptionReadyForPickup, PharmacyStockLow},
	"billing":  {InvoiceGenerated, PaymentSuccessful, InsuranceClaimStatusUpdated},
	"lab":      {LabResultReadyDoctor, LabResultReadyPatient, LabResultCritical},
}
