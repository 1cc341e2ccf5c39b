// Package httpapi is the EHR service's HTTP API: the route table (who may
// call what, with which types) and thin handlers over package records.
package httpapi

import (
	"net/http"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/ehrapi"
	"hospital/lib/httpx"
	"hospital/svc/ehr/records"
)

// Paths of the EHR service (spec section 2, plus the additions the README
// lists).
const (
	PathRecord          = "/api/v1/ehr/patients/{patient_id:[0-9]+}/"
	PathEncounters      = PathRecord + "encounters/"
	PathEncounter       = PathEncounters + "{encounter_id}/"
	PathDiagnoses       = PathEncounter + "diagnoses/"
	PathDiagnosis       = PathDiagnoses + "{diagnosis_id}/"
	PathTreatmentPlans  = PathEncounter + "treatment-plans/"
	PathTreatmentPlan   = PathTreatmentPlans + "{treatment_plan_id}/"
	PathVitals          = PathEncounter + "vitals/"
	pathInternal        = "/api/v1/ehr/internal/patients/{patient_id:[0-9]+}/"
	PathLinkAppointment = pathInternal + "link-appointment/"
	PathPrescriptionRef = pathInternal + "add-prescription-reference/"
	PathLabResultRef    = pathInternal + "add-lab-result-reference/"
	PathAllergies       = pathInternal + "allergies/"
)

// Who may call what. The route admits roles; the domain then decides per
// record (the patient's own, a care relationship, or a broken glass).
var (
	readers    = api.Roles(auth.RolePatient, auth.RoleDoctor, auth.RoleNurse)
	doctors    = api.Roles(auth.RoleDoctor)
	clinicians = api.Roles(auth.RoleNurse, auth.RoleDoctor)
)

var (
	breakGlass = api.Param{Name: records.BreakGlassHeader,
		Description: "A doctor's or nurse's reason for acting on the record of a patient they have no care relationship with (breaking the glass): access is granted, recorded and flagged for review."}
	ifMatch = api.Param{Name: "If-Match",
		Description: "The encounter's ETag as read: the change applies only to that version, otherwise 409 (edit_conflict). Without it, the change applies to the latest version."}
	idem        = api.IdempotencyKey(false)
	clinical    = []api.Param{breakGlass}
	clinicalNew = []api.Param{breakGlass, idem}
	clinicalPut = []api.Param{breakGlass, ifMatch}
)

// Routes is the EHR API. svc may be nil (for the README and OpenAPI checks,
// which never call a handler).
func Routes(svc *records.Service) []api.Route {
	h := handlers{svc: svc}
	get, post, put, patch := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch
	routes := []api.Route{
		{Method: get, Path: PathRecord, Summary: "The patient's whole medical record: encounters with their diagnoses, treatment plans, vital signs and references.",
			Access: readers, Handler: h.record, Response: records.MedicalRecord{}, Headers: clinical},
		{Method: post, Path: PathRecord, Summary: "Create a basic record for an active patient, if none exists (409 otherwise).",
			Access: doctors, Handler: h.createRecord, Request: records.RecordRequest{}, OptionalBody: true,
			Response: records.MedicalRecord{}, Status: http.StatusCreated, Headers: []api.Param{idem}},
		{Method: patch, Path: PathRecord, Summary: "Change blood type, allergies, chronic conditions or the history summary (an addition to the spec).",
			Access: doctors, Handler: h.updateRecord, Request: records.RecordPatch{}, Response: records.MedicalRecord{}, Headers: clinical},
		{Method: get, Path: PathEncounters, Summary: "The patient's encounters, the latest first, paginated.",
			Access: readers, Handler: h.encounters, Response: httpx.Page[records.Encounter]{}, Query: api.PageParams, Headers: clinical},
		{Method: post, Path: PathEncounters, Summary: "Open an encounter written by the calling doctor (one per appointment).",
			Access: doctors, Handler: h.createEncounter, Request: records.EncounterRequest{}, Response: records.Encounter{},
			Status: http.StatusCreated, Headers: clinicalNew},
		{Method: get, Path: PathEncounter, Summary: "One encounter with everything recorded in it (ETag: its version).",
			Access: readers, Handler: h.encounter, Response: records.Encounter{}, Headers: clinical},
		{Method: put, Path: PathEncounter, Summary: "Change an encounter's date, complaint, history or findings (the fields sent).",
			Access: doctors, Handler: h.updateEncounter, Request: records.EncounterUpdate{}, Response: records.Encounter{}, Headers: clinicalPut},
		{Method: post, Path: PathDiagnoses, Summary: "Add a diagnosis (ICD-10; at most one primary per encounter).",
			Access: doctors, Handler: h.addDiagnosis, Request: records.DiagnosisRequest{}, Response: records.Diagnosis{},
			Status: http.StatusCreated, Headers: clinicalNew},
		{Method: put, Path: PathDiagnosis, Summary: "Change a diagnosis (the fields sent).",
			Access: doctors, Handler: h.updateDiagnosis, Request: records.DiagnosisUpdate{}, Response: records.Diagnosis{}, Headers: clinicalPut},
		{Method: post, Path: PathTreatmentPlans, Summary: "Add a treatment plan (an addition to the spec).",
			Access: doctors, Handler: h.addPlan, Request: records.TreatmentPlanRequest{}, Response: records.TreatmentPlan{},
			Status: http.StatusCreated, Headers: clinicalNew},
		{Method: put, Path: PathTreatmentPlan, Summary: "Change a treatment plan (an addition to the spec).",
			Access: doctors, Handler: h.updatePlan, Request: records.TreatmentPlanUpdate{}, Response: records.TreatmentPlan{}, Headers: clinicalPut},
		{Method: post, Path: PathVitals, Summary: "Record vital signs (heart rate, blood pressure, temperature) in an encounter.",
			Access: clinicians, Handler: h.addVitals, Request: records.VitalsRequest{}, Response: records.VitalSign{},
			Status: http.StatusCreated, Headers: clinicalNew},

		{Method: post, Path: PathLinkAppointment, Summary: "The encounter skeleton of a completed appointment, once (the record is created if none exists).",
			Access: api.Services("appointment"), Handler: h.linkAppointment, Request: ehrapi.LinkAppointment{},
			Response: records.Encounter{}, Status: http.StatusCreated, Headers: []api.Param{idem}},
		{Method: post, Path: PathPrescriptionRef, Summary: "Reference a prescription, once: in the encounter named when it is the patient's, at record level otherwise.",
			Access: api.Services("pharmacy"), Handler: h.addPrescription, Request: ehrapi.PrescriptionReference{},
			Response: records.PrescriptionReference{}, Status: http.StatusCreated, Headers: []api.Param{idem}},
		{Method: post, Path: PathLabResultRef, Summary: "Reference a lab order item's result, once: in the encounter named when it is the patient's, at record level otherwise.",
			Access: api.Services("lab"), Handler: h.addLabResult, Request: ehrapi.LabResultReference{},
			Response: records.LabResultReference{}, Status: http.StatusCreated, Headers: []api.Param{idem}},
		{Method: get, Path: PathAllergies, Summary: "The patient's recorded allergies, for a prescription check.",
			Access: api.Services("pharmacy"), Handler: h.allergies, Response: ehrapi.Allergies{}},
		adminapi.DashboardRoute("ehr", "Figures for the admin dashboard: records, encounters this week, break-glass accesses in 7 days.", h.svc.Dashboard),
	}
	for i := range routes {
		routes[i].Handler = wrap(routes[i].Handler)
	}
	return routes
}
