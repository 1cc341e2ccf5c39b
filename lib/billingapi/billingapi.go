// Package billingapi is the billing service's contract with the services
// that invoice through it: the internal paths, the payloads the spec
// defines, and helpers that turn them into outbox messages. Every invoice
// request is idempotent: one invoice per source (appointment, dispense log,
// lab order), whatever the retries and whatever the key.
//
// Money is a decimal string ("150000.00"), never a JSON number: the spec's
// Mongo examples show numbers, but a float cannot carry a price exactly and
// the appointment service already sends strings. Billing computes every
// total itself; a line total that disagrees with quantity × unit price is
// refused (400), because it means the caller and billing disagree on a price.
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
	InvoiceForMedicationPath  = "/api/v1/billing/internal/create-invoice-for-medication/"  // pharmacy
	InvoiceForLabTestPath     = "/api/v1/billing/internal/create-invoice-for-labtest/"     // lab
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

// InvoiceForMedication is spec flow F6, sent by the pharmacy after a
// dispense, with Idempotency-Key dispense-invoice:<dispense_log_id>.
// DispenseLogID is the dispense log's ObjectId (hex string).
type InvoiceForMedication struct {
	DispenseLogID string           `json:"dispense_log_id" validate:"required,max=64"`
	PatientID     int64            `json:"patient_id" validate:"required,gt=0"`
	Items         []MedicationItem `json:"items" validate:"required,min=1,max=100,dive"`
}

// MedicationItem is one dispensed medication. Quantity is the whole number
// dispensed (the pharmacy's quantity_dispensed); UnitPrice and TotalPrice
// are decimal strings, and TotalPrice must equal Quantity × UnitPrice.
type MedicationItem struct {
	MedicationName string `json:"medication_name" validate:"required,max=255"`
	Quantity       int64  `json:"quantity" validate:"required,gt=0,lte=100000"`
	UnitPrice      string `json:"unit_price" validate:"required,max=32"`
	TotalPrice     string `json:"total_price" validate:"required,max=32"`
}

// InvoiceForMedicationMessage is the outbox message for in.
func InvoiceForMedicationMessage(in InvoiceForMedication) outbox.Message {
	return outbox.Message{
		Key:     "dispense-invoice:" + in.DispenseLogID,
		Service: Service, Method: http.MethodPost, Path: InvoiceForMedicationPath, Body: in,
	}
}

// InvoiceForLabTest is spec flow F10, sent by the lab when an order's tests
// are performed, with Idempotency-Key lab-invoice:<lab_order_id>. LabOrderID
// is the order's ObjectId (hex string). The spec gives a lab item a price
// and no quantity: each item is one test (quantity 1).
type InvoiceForLabTest struct {
	LabOrderID string        `json:"lab_order_id" validate:"required,max=64"`
	PatientID  int64         `json:"patient_id" validate:"required,gt=0"`
	Items      []LabTestItem `json:"items" validate:"required,min=1,max=100,dive"`
}

// LabTestItem is one test of the order; Price is a decimal string.
type LabTestItem struct {
	TestName string `json:"test_name" validate:"required,max=255"`
	Price    string `json:"price" validate:"required,max=32"`
}

// InvoiceForLabTestMessage is the outbox message for in.
func InvoiceForLabTestMessage(in InvoiceForLabTest) outbox.Message {
	return outbox.Message{
		Key:     "lab-invoice:" + in.LabOrderID,
		Service: Service, Method: http.MethodPost, Path: InvoiceForLabTestPath, Body: in,
	}
}
