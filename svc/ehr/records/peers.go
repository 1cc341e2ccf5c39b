package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Everything this service asks of, or tells, other services.

// ServiceName is this service's name in Consul, in audit events and in the
// allow-lists of the services it calls.
const ServiceName = "ehr"

// ---------------------------------------------------------------------------
// Users (lib/userapi): names are denormalised from there, never taken from
// a request.

// userWithRole returns the user id, who must have role (and be active,
// when active is set); otherwise a 400 on field.
func (s *Service) userWithRole(ctx context.Context, field string, id int64, role string, active bool) (userapi.User, error) {
	u, err := s.users.User(ctx, id)
	if errors.Is(err, userapi.ErrNotFound) {
		return u, apperr.Field(field, fmt.Sprintf("No user with id %d.", id))
	}
	if err != nil {
		return u, fmt.Errorf("look up %s %d: %w", field, id, err)
	}
	if u.Role != role {
		return u, apperr.Field(field, fmt.Sprintf("User %d is not a %s.", id, role))
	}
	if active && !u.IsActive {
		return u, apperr.Field(field, fmt.Sprintf("User %d is not active.", id))
	}
	return u, nil
}

// ---------------------------------------------------------------------------
// Audit events (lib/audit), delivered to the admin service's log through
// the outbox. Details carry ids, field names and reasons, never clinical
// content.

// Audit actions.
const (
	ActionRecordRead      = "ehr.record.read"
	ActionRecordCreate    = "ehr.record.create"
	ActionRecordUpdate    = "ehr.record.update"
	ActionEncounterList   = "ehr.encounter.list"
	ActionEncounterRead   = "ehr.encounter.read"
	ActionEncounterCreate = "ehr.encounter.create"
	ActionEncounterUpdate = "ehr.encounter.update"
	ActionLinkAppointment = "ehr.encounter.link_appointment"
	ActionDiagnosisAdd    = "ehr.diagnosis.create"
	ActionDiagnosisUpdate = "ehr.diagnosis.update"
	ActionPlanAdd         = "ehr.treatment_plan.create"
	ActionPlanUpdate      = "ehr.treatment_plan.update"
	ActionVitalsAdd       = "ehr.vitals.create"
	ActionPrescriptionRef = "ehr.prescription_reference.create"
	ActionLabRef          = "ehr.lab_result_reference.create"
	ActionAllergiesRead   = "ehr.allergies.read"
)

// event is the audit event of action on the patient's data under grant g.
func event(ctx context.Context, g grant, action string, patientID int64, objectType, objectID string) audit.Event {
	e := audit.New(ctx, ServiceName, action).OnPatient(patientID)
	if objectType != "" {
		e = e.On(objectType, objectID)
	}
	if g.breakGlass {
		e.BreakGlass = true
		e = e.With("break_glass_reason", g.reason)
	}
	if g.via != "" {
		e = e.With("access", g.via)
	}
	return e
}

// audited is event as the one message a change records.
func audited(ctx context.Context, g grant, action string, patientID int64, objectType, objectID string) []outbox.Message {
	return []outbox.Message{event(ctx, g, action, patientID, objectType, objectID).Message()}
}

// denied records a refused access to a patient's record (outcome DENIED)
// and returns refusal.
func (s *Service) denied(ctx context.Context, action string, patientID int64, refusal error) error {
	if err := s.record(ctx, audit.New(ctx, ServiceName, action).OnPatient(patientID).WithOutcome(audit.Denied).Message()); err != nil {
		return err
	}
	return refusal
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// callerOf is the caller in ctx (the route table admitted them).
func callerOf(ctx context.Context) (auth.Identity, error) { return auth.Caller(ctx) }
