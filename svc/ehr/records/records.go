package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"hospital/lib/auth"
	"hospital/lib/ehrapi"
	"hospital/lib/outbox"
)

// MedicalRecord returns the patient's whole record (spec: GET
// patients/{patient_id}/).
func (s *Service) MedicalRecord(ctx context.Context, patientID int64) (MedicalRecord, error) {
	g, err := s.access(ctx, patientID, ActionRecordRead)
	if err != nil {
		return MedicalRecord{}, err
	}
	ch, err := s.store.Chart(ctx, patientID)
	if err != nil {
		return MedicalRecord{}, storeErr(err, errNoRecord, fmt.Sprintf("read record of patient %d", patientID))
	}
	if err := s.record(ctx, audited(ctx, g, ActionRecordRead, patientID, "medical_record", itoa(patientID))...); err != nil {
		return MedicalRecord{}, err
	}
	return assemble(ch), nil
}

// CreateRecord creates a basic record for an active patient (spec: POST
// patients/{patient_id}/, "rarely used, usually created implicitly").
func (s *Service) CreateRecord(ctx context.Context, patientID int64, key string, in RecordRequest) (Result[MedicalRecord], error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Result[MedicalRecord]{}, err
	}
	if err := checkBloodType(in.BloodType); err != nil {
		return Result[MedicalRecord]{}, err
	}
	return once(ctx, s, "record/"+c.LogID(), key, []any{patientID, in}, func(ctx context.Context) (MedicalRecord, int, error) {
		p, err := s.userWithRole(ctx, "patient_id", patientID, auth.RolePatient, true)
		if err != nil {
			return MedicalRecord{}, 0, err
		}
		now := s.now()
		r := Record{PatientID: patientID, PatientName: p.DisplayName(), BloodType: in.BloodType,
			Allergies: cleanList(in.Allergies), ChronicConditions: cleanList(in.ChronicConditions),
			MedicalHistorySummary: in.MedicalHistorySummary, CreatedAt: now, UpdatedAt: now}
		err = s.store.CreateRecord(ctx, r, audited(ctx, grant{caller: c}, ActionRecordCreate, patientID, "medical_record", itoa(patientID))...)
		if errors.Is(err, ErrExists) {
			return MedicalRecord{}, 0, errRecordExists
		}
		if err != nil {
			return MedicalRecord{}, 0, fmt.Errorf("create record of patient %d: %w", patientID, err)
		}
		s.opts.Kick()
		return assemble(Chart{Record: r}), http.StatusCreated, nil
	})
}

// ensureRecord returns the patient's record, creating it first when none
// exists (what the internal endpoints do: the spec creates records
// implicitly). The patient must be a PATIENT; an inactive one is accepted,
// since what happened to them must still be recorded.
func (s *Service) ensureRecord(ctx context.Context, patientID int64) (Record, error) {
	r, err := s.store.Record(ctx, patientID)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("read record of patient %d: %w", patientID, err)
	}
	p, err := s.userWithRole(ctx, "patient_id", patientID, auth.RolePatient, false)
	if err != nil {
		return r, err
	}
	now := s.now()
	r = Record{PatientID: patientID, PatientName: p.DisplayName(), Allergies: []string{}, ChronicConditions: []string{},
		CreatedAt: now, UpdatedAt: now}
	c, _ := callerOf(ctx)
	err = s.store.CreateRecord(ctx, r, audited(ctx, grant{caller: c}, ActionRecordCreate, patientID, "medical_record", itoa(patientID))...)
	if errors.Is(err, ErrExists) {
		// A concurrent request created it first.
		return s.store.Record(ctx, patientID)
	}
	if err != nil {
		return r, fmt.Errorf("create record of patient %d: %w", patientID, err)
	}
	s.opts.Kick()
	return r, nil
}

// UpdateRecord changes blood type, allergies, chronic conditions or the
// history summary (PATCH patients/{patient_id}/, an addition to the spec).
func (s *Service) UpdateRecord(ctx context.Context, patientID int64, in RecordPatch) (MedicalRecord, error) {
	if in.BloodType == nil && in.Allergies == nil && in.ChronicConditions == nil && in.MedicalHistorySummary == nil {
		return MedicalRecord{}, errNoChange
	}
	if in.BloodType != nil {
		if err := checkBloodType(*in.BloodType); err != nil {
			return MedicalRecord{}, err
		}
	}
	g, err := s.access(ctx, patientID, ActionRecordUpdate)
	if err != nil {
		return MedicalRecord{}, err
	}
	_, err = s.store.UpdateRecord(ctx, patientID, func(r *Record) ([]outbox.Message, error) {
		var fields []string
		if in.BloodType != nil {
			r.BloodType, fields = *in.BloodType, append(fields, "blood_type")
		}
		if in.Allergies != nil {
			r.Allergies, fields = cleanList(*in.Allergies), append(fields, "allergies")
		}
		if in.ChronicConditions != nil {
			r.ChronicConditions, fields = cleanList(*in.ChronicConditions), append(fields, "chronic_conditions")
		}
		if in.MedicalHistorySummary != nil {
			r.MedicalHistorySummary, fields = *in.MedicalHistorySummary, append(fields, "medical_history_summary")
		}
		r.UpdatedAt = s.now()
		return []outbox.Message{event(ctx, g, ActionRecordUpdate, patientID, "medical_record", itoa(patientID)).With("fields", fields).Message()}, nil
	})
	if err != nil {
		return MedicalRecord{}, s.changeErr(err, errNoRecord, fmt.Sprintf("update record of patient %d", patientID))
	}
	s.opts.Kick()
	ch, err := s.store.Chart(ctx, patientID)
	if err != nil {
		return MedicalRecord{}, storeErr(err, errNoRecord, fmt.Sprintf("read record of patient %d", patientID))
	}
	return assemble(ch), nil
}

// Allergies answers the pharmacy's check of a prescription (lib/ehrapi):
// the patient's recorded allergies, or HasRecord false.
func (s *Service) Allergies(ctx context.Context, patientID int64) (ehrapi.Allergies, error) {
	g, err := s.access(ctx, patientID, ActionAllergiesRead)
	if err != nil {
		return ehrapi.Allergies{}, err
	}
	out := ehrapi.Allergies{PatientID: patientID, Allergies: []string{}}
	r, err := s.store.Record(ctx, patientID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return out, fmt.Errorf("read allergies of patient %d: %w", patientID, err)
	default:
		out.HasRecord, out.Allergies = true, nonNil(r.Allergies)
	}
	if err := s.record(ctx, audited(ctx, g, ActionAllergiesRead, patientID, "medical_record", itoa(patientID))...); err != nil {
		return out, err
	}
	return out, nil
}

// changeErr maps the errors of a change through the store.
func (s *Service) changeErr(err, notFound error, what string) error {
	if errors.Is(err, ErrConflict) {
		return errBusy
	}
	return storeErr(err, notFound, what)
}

// assemble puts a patient's chart together as the spec's document: vitals
// and references go into their encounters (the record-level lists hold
// those without one), encounters in date order, vitals by time.
func assemble(ch Chart) MedicalRecord {
	r := ch.Record
	m := MedicalRecord{
		PatientID: r.PatientID, PatientName: r.PatientName, BloodType: r.BloodType,
		Allergies: nonNil(r.Allergies), ChronicConditions: nonNil(r.ChronicConditions),
		MedicalHistorySummary: r.MedicalHistorySummary, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Encounters: make([]Encounter, 0, len(ch.Encounters)), LabResultReferences: []LabResultReference{},
		PrescriptionReferences: []PrescriptionReference{},
	}
	byID := make(map[string]int, len(ch.Encounters))
	for _, e := range ch.Encounters {
		byID[e.EncounterID] = len(m.Encounters)
		m.Encounters = append(m.Encounters, withLists(e))
	}
	for _, v := range ch.Vitals {
		if i, ok := byID[v.EncounterID]; ok {
			m.Encounters[i].VitalSigns = append(m.Encounters[i].VitalSigns, v)
		}
	}
	for _, p := range ch.Prescriptions {
		if i, ok := byID[p.EHREncounterID]; ok {
			m.Encounters[i].PrescriptionReferences = append(m.Encounters[i].PrescriptionReferences, p)
		} else {
			m.PrescriptionReferences = append(m.PrescriptionReferences, p)
		}
	}
	for _, l := range ch.Labs {
		if i, ok := byID[l.EHREncounterID]; ok {
			m.Encounters[i].LabResultReferences = append(m.Encounters[i].LabResultReferences, l)
		} else {
			m.LabResultReferences = append(m.LabResultReferences, l)
		}
	}
	sort.SliceStable(m.Encounters, func(i, j int) bool { return m.Encounters[i].EncounterDate.Before(m.Encounters[j].EncounterDate) })
	for i := range m.Encounters {
		sortEntries(&m.Encounters[i])
	}
	sort.SliceStable(m.PrescriptionReferences, func(i, j int) bool {
		return m.PrescriptionReferences[i].IssueDate.Before(m.PrescriptionReferences[j].IssueDate)
	})
	sort.SliceStable(m.LabResultReferences, func(i, j int) bool {
		return m.LabResultReferences[i].ResultDate.Before(m.LabResultReferences[j].ResultDate)
	})
	return m
}

// withLists gives e empty lists where it has none (they are arrays in
// JSON, never null).
func withLists(e Encounter) Encounter {
	e.Diagnoses, e.TreatmentPlans = nonNil(e.Diagnoses), nonNil(e.TreatmentPlans)
	e.VitalSigns, e.LabResultReferences, e.PrescriptionReferences = nonNil(e.VitalSigns), nonNil(e.LabResultReferences), nonNil(e.PrescriptionReferences)
	return e
}

func sortEntries(e *Encounter) {
	sort.SliceStable(e.VitalSigns, func(i, j int) bool { return e.VitalSigns[i].Timestamp.Before(e.VitalSigns[j].Timestamp) })
	sort.SliceStable(e.PrescriptionReferences, func(i, j int) bool {
		return e.PrescriptionReferences[i].IssueDate.Before(e.PrescriptionReferences[j].IssueDate)
	})
	sort.SliceStable(e.LabResultReferences, func(i, j int) bool {
		return e.LabResultReferences[i].ResultDate.Before(e.LabResultReferences[j].ResultDate)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
