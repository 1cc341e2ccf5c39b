package records

import (
	"context"
	"errors"
	"net/http"

	"hospital/lib/audit"
)

// Diagnoses and treatment plans live in their encounter: each change is a
// new version of it (see README, "Storage"), so two doctors editing the
// same encounter at once both land, the second on top of the first, unless
// the second sent If-Match with the version it saw (then it is a 409).

// errApplied: the change an idempotency key names is in the encounter
// already (a replay of work that ran before); nothing to record.
var errApplied = errors.New("already applied")

// AddDiagnosis adds a diagnosis to an encounter (spec: POST
// .../diagnoses/). At most one diagnosis of an encounter is primary.
func (s *Service) AddDiagnosis(ctx context.Context, patientID int64, encounterID, key string, in DiagnosisRequest) (Result[Diagnosis], error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Result[Diagnosis]{}, err
	}
	code, err := normalICD(in.ICDCode)
	if err != nil {
		return Result[Diagnosis]{}, err
	}
	id := newID(c, "diagnosis", key)
	return once(ctx, s, "diagnosis/"+c.LogID(), key, []any{patientID, encounterID, in}, func(ctx context.Context) (Diagnosis, int, error) {
		var out Diagnosis
		_, err := s.changeEncounter(ctx, patientID, encounterID, 0, ActionDiagnosisAdd, func(e *Encounter, ev audit.Event) (audit.Event, error) {
			for _, d := range e.Diagnoses {
				if d.DiagnosisID == id {
					out = d
					return ev, errApplied
				}
			}
			if in.IsPrimary && primaryOtherThan(e.Diagnoses, "") {
				return ev, errPrimaryTaken
			}
			out = Diagnosis{DiagnosisID: id, ICDCode: code, Description: in.Description, IsPrimary: in.IsPrimary}
			e.Diagnoses = append(e.Diagnoses, out)
			return ev.On("diagnosis", id), nil
		})
		if err != nil && !errors.Is(err, errApplied) {
			return Diagnosis{}, 0, err
		}
		return out, http.StatusCreated, nil
	})
}

// UpdateDiagnosis changes a diagnosis (spec: PUT .../diagnoses/{id}/);
// version is the If-Match (0: none). It returns the encounter's new
// version.
func (s *Service) UpdateDiagnosis(ctx context.Context, patientID int64, encounterID, diagnosisID string, version int64, in DiagnosisUpdate) (Diagnosis, int64, error) {
	if in.ICDCode == nil && in.Description == nil && in.IsPrimary == nil {
		return Diagnosis{}, 0, errNoChange
	}
	var code string
	if in.ICDCode != nil {
		var err error
		if code, err = normalICD(*in.ICDCode); err != nil {
			return Diagnosis{}, 0, err
		}
	}
	var out Diagnosis
	e, err := s.changeEncounter(ctx, patientID, encounterID, version, ActionDiagnosisUpdate, func(e *Encounter, ev audit.Event) (audit.Event, error) {
		i := diagnosisIndex(e.Diagnoses, diagnosisID)
		if i < 0 {
			return ev, errNoDiagnosis
		}
		d := &e.Diagnoses[i]
		var fields []string
		if in.ICDCode != nil {
			d.ICDCode, fields = code, append(fields, "icd_code")
		}
		if in.Description != nil {
			d.Description, fields = *in.Description, append(fields, "description")
		}
		if in.IsPrimary != nil {
			d.IsPrimary, fields = *in.IsPrimary, append(fields, "is_primary")
		}
		if d.IsPrimary && primaryOtherThan(e.Diagnoses, diagnosisID) {
			return ev, errPrimaryTaken
		}
		out = *d
		return ev.On("diagnosis", diagnosisID).With("fields", fields), nil
	})
	return out, e.Version, err
}

func diagnosisIndex(ds []Diagnosis, id string) int {
	for i, d := range ds {
		if d.DiagnosisID == id {
			return i
		}
	}
	return -1
}

// primaryOtherThan reports whether a diagnosis other than id is primary.
func primaryOtherThan(ds []Diagnosis, id string) bool {
	for _, d := range ds {
		if d.IsPrimary && d.DiagnosisID != id {
			return true
		}
	}
	return false
}

// AddTreatmentPlan adds a treatment plan to an encounter (POST
// .../treatment-plans/, an addition to the spec).
func (s *Service) AddTreatmentPlan(ctx context.Context, patientID int64, encounterID, key string, in TreatmentPlanRequest) (Result[TreatmentPlan], error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Result[TreatmentPlan]{}, err
	}
	id := newID(c, "treatment-plan", key)
	return once(ctx, s, "treatment-plan/"+c.LogID(), key, []any{patientID, encounterID, in}, func(ctx context.Context) (TreatmentPlan, int, error) {
		var out TreatmentPlan
		_, err := s.changeEncounter(ctx, patientID, encounterID, 0, ActionPlanAdd, func(e *Encounter, ev audit.Event) (audit.Event, error) {
			for _, p := range e.TreatmentPlans {
				if p.TreatmentPlanID == id {
					out = p
					return ev, errApplied
				}
			}
			out = TreatmentPlan{TreatmentPlanID: id, Description: in.Description, FollowUpInstructions: in.FollowUpInstructions}
			e.TreatmentPlans = append(e.TreatmentPlans, out)
			return ev.On("treatment_plan", id), nil
		})
		if err != nil && !errors.Is(err, errApplied) {
			return TreatmentPlan{}, 0, err
		}
		return out, http.StatusCreated, nil
	})
}

// UpdateTreatmentPlan changes a treatment plan (PUT
// .../treatment-plans/{id}/, an addition); version is the If-Match.
func (s *Service) UpdateTreatmentPlan(ctx context.Context, patientID int64, encounterID, planID string, version int64, in TreatmentPlanUpdate) (TreatmentPlan, int64, error) {
	if in.Description == nil && in.FollowUpInstructions == nil {
		return TreatmentPlan{}, 0, errNoChange
	}
	var out TreatmentPlan
	e, err := s.changeEncounter(ctx, patientID, encounterID, version, ActionPlanUpdate, func(e *Encounter, ev audit.Event) (audit.Event, error) {
		for i := range e.TreatmentPlans {
			p := &e.TreatmentPlans[i]
			if p.TreatmentPlanID != planID {
				continue
			}
			var fields []string
			if in.Description != nil {
				p.Description, fields = *in.Description, append(fields, "description")
			}
			if in.FollowUpInstructions != nil {
				p.FollowUpInstructions, fields = *in.FollowUpInstructions, append(fields, "follow_up_instructions")
			}
			out = *p
			return ev.On("treatment_plan", planID).With("fields", fields), nil
		}
		return ev, errNoPlan
	})
	return out, e.Version, err
}
