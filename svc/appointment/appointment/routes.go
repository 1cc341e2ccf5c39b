package appointment

import (
	"net/http"
	"time"

	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/routemeta"
)

// Paths of the appointment service (spec section 3).
const (
	PathAppointments = "/api/v1/appointments/"
	PathAppointment  = PathAppointments + "{appointment_id}/"
	PathPatientAppts = "/api/v1/patients/{patient_id}/appointments/"
	PathDoctorAppts  = "/api/v1/doctors/{doctor_id}/appointments/"
	PathAvailability = "/api/v1/doctors/{doctor_id}/availability/"
	PathSchedule     = "/api/v1/doctors/{doctor_id}/schedule/"
)

const routeTimeout = 10 * time.Second

// GatewayRoutes is what the gateway is told to send here. Every route needs
// a token.
func GatewayRoutes() []routemeta.Route {
	return []routemeta.Route{
		{Pattern: "/api/v1/appointments/*", Timeout: routeTimeout},
		{Pattern: "/api/v1/patients/{}/appointments/", Timeout: routeTimeout},
		{Pattern: "/api/v1/doctors/{}/appointments/", Timeout: routeTimeout},
		{Pattern: "/api/v1/doctors/{}/availability/", Timeout: routeTimeout},
		{Pattern: "/api/v1/doctors/{}/schedule/", Timeout: routeTimeout},
	}
}

// Router serves every endpoint of the service; each handler (through the
// Service) decides who may call it.
func Router(svc *Service) http.Handler {
	h := NewHandlers(svc)
	r := httpx.NewRouter(auth.Middleware(svc.Verifier()))
	handle := func(path string, fn httpx.HandlerFunc, methods ...string) { httpx.Route(r, path, fn, methods...) }

	handle(PathAppointments, h.create, http.MethodPost)
	handle(PathAppointment, h.get, http.MethodGet)
	handle(PathAppointment, h.update, http.MethodPut, http.MethodPatch)
	handle(PathAppointment+"cancel/", h.transition(svc.Cancel), http.MethodPut)
	handle(PathAppointment+"confirm/", h.transition(svc.Confirm), http.MethodPut)
	handle(PathAppointment+"complete/", h.transition(svc.Complete), http.MethodPut)
	handle(PathPatientAppts, h.listPatient, http.MethodGet)
	handle(PathDoctorAppts, h.listDoctor, http.MethodGet)
	handle(PathAvailability, h.availability, http.MethodGet)
	handle(PathSchedule, h.getSchedule, http.MethodGet)
	handle(PathSchedule, h.saveSchedule, http.MethodPost)
	return r
}
