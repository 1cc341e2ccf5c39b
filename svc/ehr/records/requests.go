package records

import "time"

// The request bodies. Tags give the 400 answers and the OpenAPI schema;
// the rules that need more than a tag are in validate.go.

// RecordRequest creates a medical record (POST patients/{patient_id}/).
type RecordRequest struct {
	BloodType             string   `json:"blood_type" validate:"omitempty,oneof=A+ A- B+ B- AB+ AB- O+ O-"`
	Allergies             []string `json:"allergies" validate:"max=50,dive,min=1,max=100"`
	ChronicConditions     []string `json:"chronic_conditions" validate:"max=50,dive,min=1,max=200"`
	MedicalHistorySummary string   `json:"medical_history_summary" validate:"max=10000"`
}

// RecordPatch changes a record's own fields (PATCH patients/{patient_id}/):
// those sent are replaced, the others kept. An empty blood_type clears it.
type RecordPatch struct {
	BloodType             *string   `json:"blood_type" validate:"omitempty,max=3"`
	Allergies             *[]string `json:"allergies" validate:"omitempty,max=50,dive,min=1,max=100"`
	ChronicConditions     *[]string `json:"chronic_conditions" validate:"omitempty,max=50,dive,min=1,max=200"`
	MedicalHistorySummary *string   `json:"medical_history_summary" validate:"omitempty,max=10000"`
}

// EncounterRequest opens an encounter (POST .../encounters/). The doctor is
// the caller: doctor_id may be left out, and must be the caller's own id
// when sent.
type EncounterRequest struct {
	DoctorID                    int64      `json:"doctor_id" validate:"omitempty,gt=0"`
	AppointmentID               *int64     `json:"appointment_id" validate:"omitempty,gt=0"`
	EncounterDate               *time.Time `json:"encounter_date"`
	ChiefComplaint              string     `json:"chief_complaint" validate:"required,max=1000"`
	HistoryOfPresentIllness     string     `json:"history_of_present_illness" validate:"max=10000"`
	PhysicalExaminationFindings string     `json:"physical_examination_findings" validate:"max=10000"`
}

// EncounterUpdate changes an encounter (PUT .../encounters/{id}/): the
// fields sent are replaced, the others kept.
type EncounterUpdate struct {
	EncounterDate               *time.Time `json:"encounter_date"`
	ChiefComplaint              *string    `json:"chief_complaint" validate:"omitempty,max=1000"`
	HistoryOfPresentIllness     *string    `json:"history_of_present_illness" validate:"omitempty,max=10000"`
	PhysicalExaminationFindings *string    `json:"physical_examination_findings" validate:"omitempty,max=10000"`
}

// DiagnosisRequest adds a diagnosis to an encounter.
type DiagnosisRequest struct {
	ICDCode     string `json:"icd_code" validate:"required,max=10"`
	Description string `json:"description" validate:"required,max=500"`
	IsPrimary   bool   `json:"is_primary"`
}

// DiagnosisUpdate changes a diagnosis: the fields sent are replaced.
type DiagnosisUpdate struct {
	ICDCode     *string `json:"icd_code" validate:"omitempty,max=10"`
	Description *string `json:"description" validate:"omitempty,min=1,max=500"`
	IsPrimary   *bool   `json:"is_primary"`
}

// TreatmentPlanRequest adds a treatment plan to an encounter.
type TreatmentPlanRequest struct {
	Description          string `json:"description" validate:"required,max=2000"`
	FollowUpInstructions string `json:"follow_up_instructions" validate:"max=2000"`
}

// TreatmentPlanUpdate changes a treatment plan: the fields sent are replaced.
type TreatmentPlanUpdate struct {
	Description          *string `json:"description" validate:"omitempty,min=1,max=2000"`
	FollowUpInstructions *string `json:"follow_up_instructions" validate:"omitempty,max=2000"`
}

// VitalsRequest records vital signs in an encounter. nurse_id is the caller
// (left out, or the caller's own id); timestamp defaults to now and may not
// be in the future; at least one measurement is required.
type VitalsRequest struct {
	NurseID            int64      `json:"nurse_id" validate:"omitempty,gt=0"`
	Timestamp          *time.Time `json:"timestamp"`
	HeartRate          *int       `json:"heart_rate" validate:"omitempty,min=20,max=300"`
	BloodPressure      *string    `json:"blood_pressure" validate:"omitempty,max=7"`
	TemperatureCelsius *float64   `json:"temperature_celsius" validate:"omitempty,min=25,max=45"`
}
