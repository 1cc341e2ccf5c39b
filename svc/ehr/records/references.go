package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/ehrapi"
)

// References other services add (lib/ehrapi). A reference names an
// encounter when the caller knows it (ehr_encounter_id) and goes into that
// encounter; otherwise into the record-level list. An ehr_encounter_id that
// names no encounter of the patient's is not refused: the callers send
// from their outboxes, which drop a 4xx for good, and the prescription or
// result is real whatever the caller believed about the encounter. It goes
// into the record-level list then, without the id. Each is one insert
// under the referenced id, so the same reference never lands twice: a
// repeat answers the first (200), the same id for another patient is a 409.

// AddPrescriptionReference records a prescription of the pharmacy service
// (spec flow F3), creating the patient's record when there is none.
func (s *Service) AddPrescriptionReference(ctx context.Context, patientID int64, key string, in ehrapi.PrescriptionReference) (Result[PrescriptionReference], error) {
	if err := s.checkReference(patientID, in.PatientID, "issue_date", in.IssueDate); err != nil {
		return Result[PrescriptionReference]{}, err
	}
	return once(ctx, s, "prescription-reference", key, []any{patientID, in}, func(ctx context.Context) (PrescriptionReference, int, error) {
		existing, err := s.store.PrescriptionReference(ctx, in.PrescriptionID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return repeated(existing, existing.PatientID, patientID, "prescription", err)
		}
		encounterID, err := s.referencedEncounter(ctx, patientID, in.EHREncounterID, "prescription_id", in.PrescriptionID)
		if err != nil {
			return PrescriptionReference{}, 0, err
		}
		if _, err := s.ensureRecord(ctx, patientID); err != nil {
			return PrescriptionReference{}, 0, err
		}
		r := PrescriptionReference{PrescriptionID: in.PrescriptionID, IssueDate: in.IssueDate.UTC().Truncate(time.Millisecond),
			PrescriptionDetailsURL: "/api/v1/prescriptions/" + url.PathEscape(in.PrescriptionID) + "/",
			MedicationsSummary:     in.MedicationsSummary, EHREncounterID: encounterID, PatientID: patientID}
		err = s.store.AddPrescriptionReference(ctx, r, audited(ctx, grant{}, ActionPrescriptionRef, patientID, "prescription", in.PrescriptionID)...)
		if errors.Is(err, ErrExists) {
			existing, err := s.store.PrescriptionReference(ctx, in.PrescriptionID)
			return repeated(existing, existing.PatientID, patientID, "prescription", err)
		}
		if err != nil {
			return PrescriptionReference{}, 0, fmt.Errorf("add prescription reference %s: %w", in.PrescriptionID, err)
		}
		s.opts.Kick()
		return r, http.StatusCreated, nil
	})
}

// AddLabResultReference records a lab order item's result (spec flow F7),
// creating the patient's record when there is none.
func (s *Service) AddLabResultReference(ctx context.Context, patientID int64, key string, in ehrapi.LabResultReference) (Result[LabResultReference], error) {
	if err := s.checkReference(patientID, in.PatientID, "result_date", in.ResultDate); err != nil {
		return Result[LabResultReference]{}, err
	}
	return once(ctx, s, "lab-result-reference", key, []any{patientID, in}, func(ctx context.Context) (LabResultReference, int, error) {
		existing, err := s.store.LabResultReference(ctx, in.LabOrderItemID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return repeated(existing, existing.PatientID, patientID, "lab order item", err)
		}
		encounterID, err := s.referencedEncounter(ctx, patientID, in.EHREncounterID, "lab_order_item_id", in.LabOrderItemID)
		if err != nil {
			return LabResultReference{}, 0, err
		}
		if _, err := s.ensureRecord(ctx, patientID); err != nil {
			return LabResultReference{}, 0, err
		}
		r := LabResultReference{LabOrderItemID: in.LabOrderItemID, TestName: in.TestName, ResultDate: in.ResultDate.UTC().Truncate(time.Millisecond),
			SummaryStatus: in.SummaryStatus, LabOrderID: in.LabOrderID, EHREncounterID: encounterID, PatientID: patientID}
		if in.LabOrderID != "" {
			u := "/api/v1/lab/orders/" + url.PathEscape(in.LabOrderID) + "/results/"
			r.ResultSummaryURL = &u
		}
		err = s.store.AddLabResultReference(ctx, r, audited(ctx, grant{}, ActionLabRef, patientID, "lab_order_item", in.LabOrderItemID)...)
		if errors.Is(err, ErrExists) {
			existing, err := s.store.LabResultReference(ctx, in.LabOrderItemID)
			return repeated(existing, existing.PatientID, patientID, "lab order item", err)
		}
		if err != nil {
			return LabResultReference{}, 0, fmt.Errorf("add lab result reference %s: %w", in.LabOrderItemID, err)
		}
		s.opts.Kick()
		return r, http.StatusCreated, nil
	})
}

// checkReference checks what a tag cannot: the body's patient is the
// path's, and the date is one the platform accepts.
func (s *Service) checkReference(pathPatient, bodyPatient int64, dateField string, date time.Time) error {
	if bodyPatient != 0 && bodyPatient != pathPatient {
		return apperr.Field("patient_id", "Does not match the patient in the path.")
	}
	return checkYear(dateField, date.UTC())
}

// referencedEncounter is the encounter a reference goes into: encounterID
// when it is one of the patient's, "" (the record-level list) when none was
// named or it names no encounter of this patient's (unknown, or another
// patient's), which is logged with the ids only. idField and id name the
// reference in that line.
func (s *Service) referencedEncounter(ctx context.Context, patientID int64, encounterID, idField, id string) (string, error) {
	if encounterID == "" {
		return "", nil
	}
	e, err := s.store.EncounterFields(ctx, encounterID)
	if errors.Is(err, ErrNotFound) || (err == nil && e.PatientID != patientID) {
		s.opts.Logger.WarnContext(ctx, "reference names no encounter of the patient's: recorded at record level",
			"patient_id", patientID, idField, id, "ehr_encounter_id", encounterID)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read encounter %s: %w", encounterID, err)
	}
	return encounterID, nil
}

// repeated answers a reference recorded before: 200 with it for the same
// patient, a 409 for another.
func repeated[T any](existing T, owner, patientID int64, what string, err error) (T, int, error) {
	var zero T
	if err != nil {
		return zero, 0, fmt.Errorf("read %s reference: %w", what, err)
	}
	if owner != patientID {
		return zero, 0, errOtherPatient(what)
	}
	return existing, http.StatusOK, nil
}
