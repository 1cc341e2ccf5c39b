package store

import (
	"strconv"
	"time"

	"hospital/svc/ehr/records"
)

// The documents as stored. Records and encounters are versioned aggregates
// (lib/mongodb/versioned): their collections hold the latest version, their
// _versions collections every version. Vital signs, references and
// break-glass accesses are insert-only.

type recordDoc struct {
	ID                    string    `bson:"_id"`
	PatientID             int64     `bson:"patient_id"`
	PatientName           string    `bson:"patient_name"`
	BloodType             string    `bson:"blood_type"`
	Allergies             []string  `bson:"allergies"`
	ChronicConditions     []string  `bson:"chronic_conditions"`
	MedicalHistorySummary string    `bson:"medical_history_summary"`
	CreatedAt             time.Time `bson:"created_at"`
	UpdatedAt             time.Time `bson:"updated_at"`
	Version               int64     `bson:"_v"`
}

func recordID(patientID int64) string { return strconv.FormatInt(patientID, 10) }

func toRecordDoc(r records.Record) recordDoc {
	return recordDoc{ID: recordID(r.PatientID), PatientID: r.PatientID, PatientName: r.PatientName, BloodType: r.BloodType,
		Allergies: r.Allergies, ChronicConditions: r.ChronicConditions, MedicalHistorySummary: r.MedicalHistorySummary,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (d recordDoc) domain() records.Record {
	return records.Record{PatientID: d.PatientID, PatientName: d.PatientName, BloodType: d.BloodType, Allergies: d.Allergies,
		ChronicConditions: d.ChronicConditions, MedicalHistorySummary: d.MedicalHistorySummary,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

type diagnosisDoc struct {
	ID          string `bson:"diagnosis_id"`
	ICDCode     string `bson:"icd_code"`
	Description string `bson:"description"`
	IsPrimary   bool   `bson:"is_primary"`
}

type planDoc struct {
	ID                   string `bson:"treatment_plan_id"`
	Description          string `bson:"description"`
	FollowUpInstructions string `bson:"follow_up_instructions"`
}

type encounterDoc struct {
	ID                          string         `bson:"_id"`
	PatientID                   int64          `bson:"patient_id"`
	DoctorID                    int64          `bson:"doctor_id"`
	DoctorName                  string         `bson:"doctor_name"`
	AppointmentID               *int64         `bson:"appointment_id"`
	EncounterDate               time.Time      `bson:"encounter_date"`
	Week                        string         `bson:"week"` // records.WeekOf(encounter_date): the dashboard's equality filter
	ChiefComplaint              string         `bson:"chief_complaint"`
	HistoryOfPresentIllness     string         `bson:"history_of_present_illness"`
	PhysicalExaminationFindings string         `bson:"physical_examination_findings"`
	Diagnoses                   []diagnosisDoc `bson:"diagnoses"`
	TreatmentPlans              []planDoc      `bson:"treatment_plans"`
	CreatedAt                   time.Time      `bson:"created_at"`
	UpdatedAt                   time.Time      `bson:"updated_at"`
	Version                     int64          `bson:"_v"`
}

func (s *Store) toEncounterDoc(e records.Encounter) encounterDoc {
	d := encounterDoc{ID: e.EncounterID, PatientID: e.PatientID, DoctorID: e.DoctorID, DoctorName: e.DoctorName,
		AppointmentID: e.AppointmentID, EncounterDate: e.EncounterDate, Week: records.WeekOf(e.EncounterDate, s.loc),
		ChiefComplaint: e.ChiefComplaint, HistoryOfPresentIllness: e.HistoryOfPresentIllness,
		PhysicalExaminationFindings: e.PhysicalExaminationFindings, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	for _, x := range e.Diagnoses {
		d.Diagnoses = append(d.Diagnoses, diagnosisDoc{ID: x.DiagnosisID, ICDCode: x.ICDCode, Description: x.Description, IsPrimary: x.IsPrimary})
	}
	for _, x := range e.TreatmentPlans {
		d.TreatmentPlans = append(d.TreatmentPlans, planDoc{ID: x.TreatmentPlanID, Description: x.Description, FollowUpInstructions: x.FollowUpInstructions})
	}
	return d
}

func (d encounterDoc) domain() records.Encounter {
	e := records.Encounter{EncounterID: d.ID, PatientID: d.PatientID, DoctorID: d.DoctorID, DoctorName: d.DoctorName,
		AppointmentID: d.AppointmentID, EncounterDate: d.EncounterDate.UTC(), ChiefComplaint: d.ChiefComplaint,
		HistoryOfPresentIllness: d.HistoryOfPresentIllness, PhysicalExaminationFindings: d.PhysicalExaminationFindings,
		Diagnoses: []records.Diagnosis{}, TreatmentPlans: []records.TreatmentPlan{},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version}
	for _, x := range d.Diagnoses {
		e.Diagnoses = append(e.Diagnoses, records.Diagnosis{DiagnosisID: x.ID, ICDCode: x.ICDCode, Description: x.Description, IsPrimary: x.IsPrimary})
	}
	for _, x := range d.TreatmentPlans {
		e.TreatmentPlans = append(e.TreatmentPlans, records.TreatmentPlan{TreatmentPlanID: x.ID, Description: x.Description, FollowUpInstructions: x.FollowUpInstructions})
	}
	return e
}

type vitalDoc struct {
	ID                 string    `bson:"_id"`
	PatientID          int64     `bson:"patient_id"`
	EncounterID        string    `bson:"encounter_id"`
	NurseID            int64     `bson:"nurse_id"`
	Timestamp          time.Time `bson:"timestamp"`
	HeartRate          *int      `bson:"heart_rate"`
	BloodPressure      *string   `bson:"blood_pressure"`
	TemperatureCelsius *float64  `bson:"temperature_celsius"`
}

func (d vitalDoc) domain() records.VitalSign {
	return records.VitalSign{VitalID: d.ID, NurseID: d.NurseID, Timestamp: d.Timestamp.UTC(), HeartRate: d.HeartRate,
		BloodPressure: d.BloodPressure, TemperatureCelsius: d.TemperatureCelsius, EncounterID: d.EncounterID, PatientID: d.PatientID}
}

// A reference's _id is the id it references: the unique _id lets it in once.
type prescriptionDoc struct {
	ID                 string    `bson:"_id"` // the prescription_id
	PatientID          int64     `bson:"patient_id"`
	EncounterID        string    `bson:"encounter_id,omitempty"`
	IssueDate          time.Time `bson:"issue_date"`
	DetailsURL         string    `bson:"prescription_details_url"`
	MedicationsSummary string    `bson:"medications_summary"`
}

func (d prescriptionDoc) domain() records.PrescriptionReference {
	return records.PrescriptionReference{PrescriptionID: d.ID, IssueDate: d.IssueDate.UTC(), PrescriptionDetailsURL: d.DetailsURL,
		MedicationsSummary: d.MedicationsSummary, EHREncounterID: d.EncounterID, PatientID: d.PatientID}
}

type labDoc struct {
	ID            string    `bson:"_id"` // the lab_order_item_id
	PatientID     int64     `bson:"patient_id"`
	EncounterID   string    `bson:"encounter_id,omitempty"`
	TestName      string    `bson:"test_name"`
	ResultDate    time.Time `bson:"result_date"`
	SummaryStatus string    `bson:"summary_status"`
	ResultURL     *string   `bson:"result_summary_url"`
	LabOrderID    string    `bson:"lab_order_id,omitempty"`
}

func (d labDoc) domain() records.LabResultReference {
	return records.LabResultReference{LabOrderItemID: d.ID, TestName: d.TestName, ResultDate: d.ResultDate.UTC(),
		SummaryStatus: d.SummaryStatus, ResultSummaryURL: d.ResultURL, LabOrderID: d.LabOrderID, EHREncounterID: d.EncounterID,
		PatientID: d.PatientID}
}

type breakGlassDoc struct {
	ID        string    `bson:"_id"`
	PatientID int64     `bson:"patient_id"`
	UserID    int64     `bson:"user_id"`
	Role      string    `bson:"role"`
	Reason    string    `bson:"reason"`
	Action    string    `bson:"action"`
	RequestID string    `bson:"request_id,omitempty"`
	At        time.Time `bson:"at"`
}
