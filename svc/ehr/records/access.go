package records

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"hospital/lib/appointmentapi"
	"hospital/lib/auth"
	"hospital/lib/logging"
	"hospital/lib/svcclient"
)

// Who may read and change which record, beyond the route table's roles:
//
//   - a patient: their own record only (another's is a 403);
//   - a doctor or a nurse: a record of a patient they care for. A doctor
//     cares for a patient they have an appointment with (any status but
//     cancelled), a nurse for a patient with an appointment today (the
//     appointment service answers both); either cares for a patient whose
//     record they wrote in (an encounter, vital signs);
//   - otherwise a doctor or a nurse breaks the glass: the request carries
//     a reason in BreakGlassHeader, access is granted, kept for review and
//     flagged in the audit event. Without one it is a 403
//     (break_glass_required);
//   - a service: what its route admits it to.
//
// Every refusal on a patient's record is audited (outcome DENIED).

// BreakGlassHeader carries the reason for reading or changing a record
// without a care relationship.
const BreakGlassHeader = "X-Break-Glass-Reason"

type breakGlassKey struct{}

// WithBreakGlass returns ctx carrying the break-the-glass reason the
// request gave (empty: none).
func WithBreakGlass(ctx context.Context, reason string) context.Context {
	return context.WithValue(ctx, breakGlassKey{}, reason)
}

func breakGlassReason(ctx context.Context) string {
	r, _ := ctx.Value(breakGlassKey{}).(string)
	return r
}

// grant is an access allowed: by whom, and how.
type grant struct {
	caller     auth.Identity
	breakGlass bool
	reason     string
	// via says how a clinician was admitted (own, care, break_glass); for
	// the audit event.
	via string
}

type careKey struct{ patient, clinician int64 }

// access decides whether the caller may act on patientID's record for
// action, and records a refusal or a broken glass.
func (s *Service) access(ctx context.Context, patientID int64, action string) (grant, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return grant{}, err
	}
	g := grant{caller: c}
	switch {
	case c.IsService():
		return g, nil
	case c.Role == auth.RolePatient:
		if c.IsUser(patientID) {
			g.via = "own"
			return g, nil
		}
		return g, s.denied(ctx, action, patientID, errNotYours)
	case c.Role != auth.RoleDoctor && c.Role != auth.RoleNurse:
		return g, s.denied(ctx, action, patientID, errNotClinical)
	}
	reason := breakGlassReason(ctx)
	cares, err := s.caresFor(ctx, patientID, c)
	if err != nil && reason == "" {
		return g, err
	}
	if err == nil && cares {
		g.via = "care"
		return g, nil
	}
	if reason == "" {
		return g, s.denied(ctx, action, patientID, errBreakGlass)
	}
	if reason, err = checkReason(reason, s.opts.MinReason); err != nil {
		return g, err
	}
	g.breakGlass, g.reason, g.via = true, reason, "break_glass"
	err = s.store.RecordBreakGlass(ctx, BreakGlass{
		ID: uuid.NewString(), PatientID: patientID, UserID: c.UserID, Role: c.Role, Reason: reason,
		Action: action, RequestID: logging.RequestID(ctx), At: s.now(),
	})
	if err != nil {
		return g, fmt.Errorf("record break-glass access: %w", err)
	}
	return g, nil
}

// caresFor reports whether clinician c has a care relationship with the
// patient: from this store first (they wrote in the record), then from the
// appointment service. Answers are reused for Options.CareTTL.
func (s *Service) caresFor(ctx context.Context, patientID int64, c auth.Identity) (bool, error) {
	return s.care.Get(ctx, careKey{patientID, c.UserID}, func(ctx context.Context) (bool, error) {
		wrote, err := s.store.WroteFor(ctx, patientID, c.UserID)
		if err != nil {
			return false, fmt.Errorf("care relationship: %w", err)
		}
		if wrote {
			return true, nil
		}
		q := appointmentapi.CareQuery{PatientID: patientID}
		if c.Role == auth.RoleDoctor {
			q.DoctorID = c.UserID
		} else {
			q.Date = s.now().In(s.opts.Location).Format("2006-01-02")
		}
		ans, err := s.appts.Care(ctx, q)
		if svcclient.HasStatus(err, http.StatusBadRequest, http.StatusNotFound) {
			// Its definite answer for an id it cannot have: no appointment.
			return false, nil
		}
		if err != nil {
			s.opts.Logger.WarnContext(ctx, "care relationship unknown: appointment service not answering", "err", err.Error())
			return false, errCareUnknown
		}
		return ans.HasAppointment, nil
	})
}

// wroteIn notes that clinician c now writes in the patient's record: a
// care relationship from now on.
func (s *Service) wroteIn(patientID int64, c auth.Identity) {
	if c.Role == auth.RoleDoctor || c.Role == auth.RoleNurse {
		s.care.Forget(careKey{patientID, c.UserID})
	}
}
