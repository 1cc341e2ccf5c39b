// Package billingapi is the billing service's contract with the services
// that invoice through it: the internal paths, the payloads the spec
// defines, and helpers that turn them into outbox messages. Every invoice
// request is idempotent: one invoice per source, whatever the retries.
package billingapi

import (
	"net/http"
	"strconv"

	"hospital/lib/outbox"
)

// Service is the billing service's name in Consul.
const Service = "billing"

// Internal paths (POST, service tokens of the named caller only).
const (
	InvoiceForAppointmentPath = "/api/v1/billing/internal/create-invoice-for-appointment/" // appointment
)

// InvoiceForAppointment is spec flow F2, sent when an appointment is
// completed, with Idempotency-Key appointment-invoice:<id>. Amount is a
// decimal string ("150000.00").
type InvoiceForAppointment struct {
	AppointmentID      int64  `json:"appointment_id" validate:"required,gt=0"`
	PatientID          int64  `json:"patient_id" validate:"required,gt=0"`
	DoctorID           int64  `json:"doctor_id" validate:"required,gt=0"`
	ServiceDescription string `json:"service_description" validate:"required,max=255"`
	Amount             string `json:"amount" validate:"required,max=32"`
}

// InvoiceForAppointmentMessage is the outbox message for in.
func InvoiceForAppointmentMessage(in InvoiceForAppointment) outbox.Message {
	return outbox.Message{
		Key:     "appointment-invoice:" + strconv.FormatInt(in.AppointmentID, 10),
		Service: Service, Method: http.MethodPost, Path: InvoiceForAppointmentPath, Body: in,
	}
}
