package records

import "time"

// MedicalRecord is the spec's medical_records document: one per patient,
// with its encounters and everything recorded in them. The store keeps it
// as several collections (see README, "Storage"); this is its API shape.
type MedicalRecord struct {
	PatientID             int64       `json:"patient_id"`
	PatientName           string      `json:"patient_name"`
	BloodType             string      `json:"blood_type"`
	Allergies             []string    `json:"allergies"`
	ChronicConditions     []string    `json:"chronic_conditions"`
	MedicalHistorySummary string      `json:"medical_history_summary"`
	CreatedAt             time.Time   `json:"created_at"`
	UpdatedAt             time.Time   `json:"updated_at"`
	Encounters            []Encounter `json:"encounters"`
	// References that came without an encounter (pharmacy and lab name
	// one only when they know it): the record-level lists, an addition to
	// the spec's document.
	LabResultReferences    []LabResultReference    `json:"lab_result_references"`
	PrescriptionReferences []PrescriptionReference `json:"prescription_references"`
}

// Record is a medical record's own fields, without what is recorded in
// encounters.
type Record struct {
	PatientID             int64
	PatientName           string
	BloodType             string
	Allergies             []string
	ChronicConditions     []string
	MedicalHistorySummary string
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// Encounter is one examination session (an element of encounters[]).
type Encounter struct {
	EncounterID                 string                  `json:"encounter_id"`
	PatientID                   int64                   `json:"patient_id"`
	DoctorID                    int64                   `json:"doctor_id"`
	DoctorName                  string                  `json:"doctor_name"`
	AppointmentID               *int64                  `json:"appointment_id"`
	EncounterDate               time.Time               `json:"encounter_date"`
	ChiefComplaint              string                  `json:"chief_complaint"`
	HistoryOfPresentIllness     string                  `json:"history_of_present_illness"`
	PhysicalExaminationFindings string                  `json:"physical_examination_findings"`
	Diagnoses                   []Diagnosis             `json:"diagnoses"`
	TreatmentPlans              []TreatmentPlan         `json:"treatment_plans"`
	VitalSigns                  []VitalSign             `json:"vital_signs"`
	LabResultReferences         []LabResultReference    `json:"lab_result_references"`
	PrescriptionReferences      []PrescriptionReference `json:"prescription_references"`
	CreatedAt                   time.Time               `json:"created_at"`
	UpdatedAt                   time.Time               `json:"updated_at"`
	// Version counts the encounter's changes; answered as its ETag and
	// taken back in If-Match.
	Version int64 `json:"-"`
}

// Diagnosis is one diagnosis of an encounter.
type Diagnosis struct {
	DiagnosisID string `json:"diagnosis_id"`
	ICDCode     string `json:"icd_code"`
	Description string `json:"description"`
	IsPrimary   bool   `json:"is_primary"`
}

// TreatmentPlan is one treatment plan of an encounter.
type TreatmentPlan struct {
	TreatmentPlanID      string `json:"treatment_plan_id"`
	Description          string `json:"description"`
	FollowUpInstructions string `json:"follow_up_instructions"`
}

// VitalSign is one set of vital signs taken in an encounter. A measurement
// that was not taken is null. NurseID is whoever recorded them (a nurse,
// or a doctor).
type VitalSign struct {
	VitalID            string    `json:"vital_id"`
	NurseID            int64     `json:"nurse_id"`
	Timestamp          time.Time `json:"timestamp"`
	HeartRate          *int      `json:"heart_rate"`
	BloodPressure      *string   `json:"blood_pressure"`
	TemperatureCelsius *float64  `json:"temperature_celsius"`
	// EncounterID and PatientID place the vitals; not part of the
	// spec's embedded object.
	EncounterID string `json:"-"`
	PatientID   int64  `json:"-"`
}

// PrescriptionReference points at a prescription of the pharmacy service.
type PrescriptionReference struct {
	PrescriptionID         string    `json:"prescription_id"`
	IssueDate              time.Time `json:"issue_date"`
	PrescriptionDetailsURL string    `json:"prescription_details_url"`
	MedicationsSummary     string    `json:"medications_summary"`
	EHREncounterID         string    `json:"ehr_encounter_id,omitempty"`
	PatientID              int64     `json:"-"`
}

// LabResultReference points at a lab order item's result.
type LabResultReference struct {
	LabOrderItemID string    `json:"lab_order_item_id"`
	TestName       string    `json:"test_name"`
	ResultDate     time.Time `json:"result_date"`
	SummaryStatus  string    `json:"summary_status"`
	// ResultSummaryURL is the lab order's results
	// (/api/v1/lab/orders/{lab_order_id}/results/), null when the lab did
	// not say which order the item belongs to.
	ResultSummaryURL *string `json:"result_summary_url"`
	LabOrderID       string  `json:"lab_order_id,omitempty"`
	EHREncounterID   string  `json:"ehr_encounter_id,omitempty"`
	PatientID        int64   `json:"-"`
}

// Chart is what the store holds about one patient, before it is put
// together as a MedicalRecord.
type Chart struct {
	Record        Record
	Encounters    []Encounter
	Vitals        []VitalSign
	Prescriptions []PrescriptionReference
	Labs          []LabResultReference
}

// Dashboard is what the admin service shows of the EHR.
type Dashboard struct {
	MedicalRecords       int64 `json:"medical_records"`
	EncountersThisWeek   int64 `json:"encounters_this_week"`
	BreakGlassAccesses7d int64 `json:"break_glass_accesses_7d"`
}

// BreakGlass is one access granted without a care relationship, kept for
// review.
type BreakGlass struct {
	ID        string
	PatientID int64
	UserID    int64
	Role      string
	Reason    string
	Action    string
	RequestID string
	At        time.Time
}

// Result is an answer with its status: 201 for what was created, 200 for
// what already existed (a replay gets the first status again).
type Result[T any] struct {
	Value  T
	Status int
}
