// Package ehrapi is the EHR service's contract with the services that call
// it: the internal paths, the payloads the spec defines, and helpers that
// turn them into outbox messages.
package ehrapi

import (
	"net/http"
	"strconv"
	"time"

	"hospital/lib/outbox"
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
