// Package httpapi is the appointment service's HTTP API: the route table
// (who may call what, with which types) and thin handlers over package
// booking.
package httpapi

import (
	"net/http"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/appointmentapi"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/svc/appointment/booking"
)

// Paths of the appointment service (spec section 3).
const (
	pathAppointments = "/api/v1/appointments/"
	pathAppointment  = pathAppointments + "{appointment_id:[0-9]+}/"
	pathPatientList  = "/api/v1/patients/{patient_id:[0-9]+}/appointments/"
	pathDoctorList   = "/api/v1/doctors/{doctor_id:[0-9]+}/appointments/"
	pathAvailability = "/api/v1/doctors/{doctor_id:[0-9]+}/availability/"
	pathSchedule     = "/api/v1/doctors/{doctor_id:[0-9]+}/schedule/"
)

// Who may call what. The route admits roles; the domain then decides per
// object (a patient's own appointment, a doctor's own schedule).
var (
	clinicalRoles = api.Roles(auth.RolePatient, auth.RoleDoctor, auth.RoleNurse, auth.RoleAdmin)
	staff         = api.Roles(auth.RoleDoctor, auth.RoleNurse, auth.RoleAdmin)
	bookers       = api.Roles(auth.RolePatient, auth.RoleNurse, auth.RoleAdmin)
	doctorOrAdmin = api.Roles(auth.RoleDoctor, auth.RoleAdmin)
)

// appointmentOut is the answer of every operation on one appointment.
var appointmentOut = booking.Appointment{}

// noBody is what the transitions take: nothing, or an empty object.
type noBody struct{}

var listQuery = append([]api.Param{
	{Name: "status", Description: "Statuses to keep: repeat the parameter or separate with commas.", Enum: booking.Statuses},
	{Name: "date", Type: "date", Description: "One clinic day."},
	{Name: "date_from", Type: "date", Description: "First clinic day (inclusive)."},
	{Name: "date_to", Type: "date", Description: "Last clinic day (inclusive)."},
}, api.PageParams...)

// Routes is the service's API. svc may be nil when only the table is read
// (the README check, the OpenAPI document).
func Routes(svc *booking.Service) []api.Route {
	h := handlers{svc: svc}
	return []api.Route{
		adminapi.DashboardRoute("appointments", "The admin dashboard's figures: today's appointments by status (lib/adminapi).", h.svc.Dashboard),
		{Method: http.MethodGet, Path: appointmentapi.CarePath, Summary: "Whether a patient has an appointment that is not cancelled (with a doctor, on a clinic day): the EHR's care relationship (lib/appointmentapi).",
			Access: api.Services("ehr"), Handler: h.care, Response: appointmentapi.Care{}, Query: []api.Param{
				{Name: "patient_id", Type: "integer", Required: true, Description: "The patient."},
				{Name: "doctor_id", Type: "integer", Description: "Only appointments with this doctor."},
				{Name: "date", Type: "date", Description: "Only appointments on this clinic day."},
			}},
		{Method: http.MethodPost, Path: pathAppointments, Summary: "Book a slot (a patient for themself; a nurse or an admin for `patient_id`).",
			Access: bookers, Handler: h.book, Request: booking.BookRequest{}, Response: appointmentOut, Status: http.StatusCreated},
		{Method: http.MethodGet, Path: pathAppointment, Summary: "One appointment (its patient, its doctor, nurses, admins).",
			Access: clinicalRoles, Handler: h.get, Response: appointmentOut},
		{Method: http.MethodPut, Path: pathAppointment, Summary: "Change notes_doctor, reason_for_visit, or mark NO_SHOW after the end (its doctor, nurses, admins).",
			Access: staff, Handler: h.update, Request: booking.UpdateRequest{}, Response: appointmentOut},
		{Method: http.MethodPatch, Path: pathAppointment, Summary: "Same as PUT.",
			Access: staff, Handler: h.update, Request: booking.UpdateRequest{}, Response: appointmentOut},
		{Method: http.MethodPut, Path: pathAppointment + "cancel/", Summary: "Cancel before the start: CANCELLED_PATIENT by its patient, CANCELLED_DOCTOR by its doctor, nurses, admins.",
			Access: clinicalRoles, Handler: h.transition((*booking.Service).Cancel), Request: noBody{}, OptionalBody: true, Response: appointmentOut},
		{Method: http.MethodPut, Path: pathAppointment + "confirm/", Summary: "PENDING → CONFIRMED (its doctor, nurses, admins).",
			Access: staff, Handler: h.transition((*booking.Service).Confirm), Request: noBody{}, OptionalBody: true, Response: appointmentOut},
		{Method: http.MethodPut, Path: pathAppointment + "complete/", Summary: "CONFIRMED → COMPLETED once started (its doctor, admins); EHR and Billing are told.",
			Access: doctorOrAdmin, Handler: h.transition((*booking.Service).Complete), Request: noBody{}, OptionalBody: true, Response: appointmentOut},
		{Method: http.MethodGet, Path: pathPatientList, Summary: "A patient's appointments (the patient, nurses, admins; a doctor sees theirs with the patient).",
			Access: clinicalRoles, Handler: h.listPatient, Response: httpx.Page[booking.Appointment]{}, Query: listQuery},
		{Method: http.MethodGet, Path: pathDoctorList, Summary: "A doctor's appointments (the doctor, nurses, admins).",
			Access: staff, Handler: h.listDoctor, Response: httpx.Page[booking.Appointment]{}, Query: listQuery},
		{Method: http.MethodGet, Path: pathAvailability, Summary: "Free slots of a clinic day and the days after it.",
			Access: api.AnyUser(), Handler: h.availability, Response: booking.Availability{}, Query: []api.Param{
				{Name: "date", Type: "date", Description: "First clinic day (default today)."},
				{Name: "days_in_advance", Type: "integer", Description: "Further days (0 to AVAILABILITY_MAX_DAYS, default 0)."},
			}},
		{Method: http.MethodGet, Path: pathSchedule, Summary: "A doctor's schedule entries (the doctor, nurses, admins).",
			Access: staff, Handler: h.schedule, Response: []booking.DoctorSchedule{}},
		{Method: http.MethodPost, Path: pathSchedule, Summary: "Create a schedule entry (201), or update the one with the same day, start and valid_from (200) (the doctor, admins).",
			Access: doctorOrAdmin, Handler: h.saveSchedule, Request: booking.ScheduleRequest{}, Response: booking.DoctorSchedule{}, Status: http.StatusCreated},
	}
}
