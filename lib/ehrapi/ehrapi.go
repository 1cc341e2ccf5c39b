// Package ehrapi is the EHR service's contract with the services that call
// it: the internal paths, the payloads the spec defines, and helpers that
// turn them into outbox messages.
package ehrapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/svcclient"
)

// Service is the EHR service's name in Consul.
const Service = "ehr"

func internalPath(patientID int64, what string) string {
	return "/api/v1/ehr/internal/patients/" + strconv.FormatInt(patientID, 10) + "/" + what + "/"
}

// LinkAppointmentPath is POST from appointment: the encounter skeleton.
func LinkAppointmentPath(patientID int64) string { return internalPath(patientID, "link-appointment") }

// PrescriptionReferencePath is POST from pharmacy.
func PrescriptionReferencePath(patientID int64) string {
	return internalPath(patientID, "add-prescription-reference")
}

// LabResultReferencePath is POST from lab.
func LabResultReferencePath(patientID int64) string {
	return internalPath(patientID, "add-lab-result-reference")
}

// LinkAppointment is what the appointment service sends when an appointment
// is completed (spec flow F1), with Idempotency-Key appointment-ehr-link:<id>.
type LinkAppointment struct {
	AppointmentID   int64     `json:"appointment_id" validate:"required,gt=0"`
	DoctorID        int64     `json:"doctor_id" validate:"required,gt=0"`
	PatientID       int64     `json:"patient_id" validate:"omitempty,gt=0"`
	AppointmentTime time.Time `json:"appointment_time" validate:"required"`
}

// LinkAppointmentMessage is the outbox message for in.
func LinkAppointmentMessage(in LinkAppointment) outbox.Message {
	return outbox.Message{
		Key:     "appointment-ehr-link:" + strconv.FormatInt(in.AppointmentID, 10),
		Service: Service, Method: http.MethodPost, Path: LinkAppointmentPath(in.PatientID), Body: in,
	}
}

// PrescriptionReference is spec flow F3, sent by pharmacy after a
// prescription is created, with Idempotency-Key
// prescription-ehr-reference:<prescription_id>. With EHREncounterID the
// reference goes into that encounter, otherwise into the record-level list.
type PrescriptionReference struct {
	PrescriptionID     string    `json:"prescription_id" validate:"required,max=64"`
	IssueDate          time.Time `json:"issue_date" validate:"required"`
	PatientID          int64     `json:"patient_id" validate:"omitempty,gt=0"`
	MedicationsSummary string    `json:"medications_summary" validate:"max=2000"`
	EHREncounterID     string    `json:"ehr_encounter_id,omitempty" validate:"omitempty,max=64"`
}

// PrescriptionReferenceMessage is the outbox message for in.
func PrescriptionReferenceMessage(patientID int64, in PrescriptionReference) outbox.Message {
	return outbox.Message{
		Key:     "prescription-ehr-reference:" + in.PrescriptionID,
		Service: Service, Method: http.MethodPost, Path: PrescriptionReferencePath(patientID), Body: in,
	}
}

// LabResultReference is spec flow F7, sent by lab for each item of a
// released order, with Idempotency-Key lab-ehr-reference:<lab_order_item_id>.
// SummaryStatus is "Normal" or "Abnormal".
type LabResultReference struct {
	LabOrderItemID string    `json:"lab_order_item_id" validate:"required,max=64"`
	PatientID      int64     `json:"patient_id" validate:"omitempty,gt=0"`
	TestName       string    `json:"test_name" validate:"required,max=200"`
	ResultDate     time.Time `json:"result_date" validate:"required"`
	SummaryStatus  string    `json:"summary_status" validate:"required,oneof=Normal Abnormal"`
	LabOrderID     string    `json:"lab_order_id,omitempty" validate:"omitempty,max=64"`
	EHREncounterID string    `json:"ehr_encounter_id,omitempty" validate:"omitempty,max=64"`
}

// LabResultReferenceMessage is the outbox message for in.
func LabResultReferenceMessage(patientID int64, in LabResultReference) outbox.Message {
	return outbox.Message{
		Key:     "lab-ehr-reference:" + in.LabOrderItemID,
		Service: Service, Method: http.MethodPost, Path: LabResultReferencePath(patientID), Body: in,
	}
}

// AllergiesPath is GET from pharmacy: the patient's recorded allergies.
func AllergiesPath(patientID int64) string { return internalPath(patientID, "allergies") }

// Allergies answers AllergiesPath. HasRecord is false when the patient has
// no medical record yet (then Allergies is empty: nothing is known, which
// the caller must not read as "no allergies" without saying so).
type Allergies struct {
	PatientID int64    `json:"patient_id"`
	HasRecord bool     `json:"has_record"`
	Allergies []string `json:"allergies"`
}

// Client calls the EHR service.
type Client struct{ c *svcclient.Client }

// NewClient returns a client sending through c (with c's service token).
func NewClient(c *svcclient.Client) Client { return Client{c: c} }

// Allergies returns the patient's recorded allergies.
func (c Client) Allergies(ctx context.Context, patientID int64) (Allergies, error) {
	var out Allergies
	if err := c.c.JSON(ctx, Service, http.MethodGet, AllergiesPath(patientID), nil, &out); err != nil {
		return out, fmt.Errorf("allergies of patient %d: %w", patientID, svcclient.Refused(Service, err))
	}
	return out, nil
}
