package records

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/ehrapi"
	"hospital/lib/outbox"
)

// Encounters returns one page of the patient's encounters, the latest
// first, and their number (spec: GET patients/{patient_id}/encounters/).
func (s *Service) Encounters(ctx context.Context, patientID int64, limit, offset int) ([]Encounter, int, error) {
	g, err := s.access(ctx, patientID, ActionEncounterList)
	if err != nil {
		return nil, 0, err
	}
	ch, err := s.store.Chart(ctx, patientID)
	if err != nil {
		return nil, 0, storeErr(err, errNoRecord, fmt.Sprintf("read encounters of patient %d", patientID))
	}
	all := assemble(ch).Encounters
	sort.SliceStable(all, func(i, j int) bool { return all[i].EncounterDate.After(all[j].EncounterDate) })
	page := all[min(offset, len(all)):min(offset+limit, len(all))]
	if err := s.record(ctx, audited(ctx, g, ActionEncounterList, patientID, "medical_record", itoa(patientID))...); err != nil {
		return nil, 0, err
	}
	return page, len(all), nil
}

// Encounter returns one encounter of the patient with everything recorded
// in it (spec: GET .../encounters/{encounter_id}/).
func (s *Service) Encounter(ctx context.Context, patientID int64, encounterID string) (Encounter, error) {
	g, err := s.access(ctx, patientID, ActionEncounterRead)
	if err != nil {
		return Encounter{}, err
	}
	e, err := s.encounterOf(ctx, patientID, encounterID)
	if err != nil {
		return e, err
	}
	if err := s.record(ctx, audited(ctx, g, ActionEncounterRead, patientID, "encounter", encounterID)...); err != nil {
		return Encounter{}, err
	}
	return e, nil
}

// encounterOf reads an encounter, which must be the patient's.
func (s *Service) encounterOf(ctx context.Context, patientID int64, encounterID string) (Encounter, error) {
	e, err := s.store.Encounter(ctx, encounterID)
	if err != nil {
		return Encounter{}, storeErr(err, errNoEncounter, "read encounter "+encounterID)
	}
	if e.PatientID != patientID {
		return Encounter{}, errNoEncounter
	}
	e = withLists(e)
	sortEntries(&e)
	return e, nil
}

// CreateEncounter opens an encounter written by the calling doctor (spec:
// POST .../encounters/). With an appointment_id it is that appointment's
// encounter: a second one for the same appointment is a 409 naming the
// first (link-appointment may have made it).
func (s *Service) CreateEncounter(ctx context.Context, patientID int64, key string, in EncounterRequest) (Result[Encounter], error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Result[Encounter]{}, err
	}
	if in.DoctorID != 0 && in.DoctorID != c.UserID {
		return Result[Encounter]{}, errSelfOnly
	}
	now := s.now()
	date := now
	if in.EncounterDate != nil {
		if date, err = pastTime("encounter_date", *in.EncounterDate, now); err != nil {
			return Result[Encounter]{}, err
		}
	}
	g, err := s.access(ctx, patientID, ActionEncounterCreate)
	if err != nil {
		return Result[Encounter]{}, err
	}
	return once(ctx, s, "encounter/"+c.LogID(), key, []any{patientID, in}, func(ctx context.Context) (Encounter, int, error) {
		doc, err := s.userWithRole(ctx, "doctor_id", c.UserID, auth.RoleDoctor, true)
		if err != nil {
			return Encounter{}, 0, err
		}
		if _, err := s.ensureRecord(ctx, patientID); err != nil {
			return Encounter{}, 0, err
		}
		e := Encounter{
			EncounterID: newID(c, "encounter", key), PatientID: patientID, DoctorID: c.UserID, DoctorName: doc.DisplayName(),
			AppointmentID: in.AppointmentID, EncounterDate: date, ChiefComplaint: in.ChiefComplaint,
			HistoryOfPresentIllness: in.HistoryOfPresentIllness, PhysicalExaminationFindings: in.PhysicalExaminationFindings,
			CreatedAt: now, UpdatedAt: now,
		}
		if in.AppointmentID != nil {
			e.EncounterID = appointmentEncounterID(*in.AppointmentID, patientID)
		}
		err = s.store.CreateEncounter(ctx, e, audited(ctx, g, ActionEncounterCreate, patientID, "encounter", e.EncounterID)...)
		if errors.Is(err, ErrExists) {
			// Either this key's earlier run made it (answer it again), or
			// the appointment has its encounter already.
			existing, rerr := s.encounterOf(ctx, patientID, e.EncounterID)
			if rerr != nil {
				return Encounter{}, 0, rerr
			}
			if key != "" && existing.DoctorID == c.UserID && existing.ChiefComplaint == in.ChiefComplaint {
				return existing, http.StatusCreated, nil
			}
			return Encounter{}, 0, apperr.Conflict("This appointment already has an encounter.").
				WithCode("encounter_exists").With("encounter_id", e.EncounterID)
		}
		if err != nil {
			return Encounter{}, 0, fmt.Errorf("create encounter for patient %d: %w", patientID, err)
		}
		s.wroteIn(patientID, c)
		s.opts.Kick()
		return withLists(e), http.StatusCreated, nil
	})
}

// UpdateEncounter changes an encounter's own fields (spec: PUT
// .../encounters/{encounter_id}/). version, when not 0, is the If-Match:
// a change to a newer encounter is then a 409.
func (s *Service) UpdateEncounter(ctx context.Context, patientID int64, encounterID string, version int64, in EncounterUpdate) (Encounter, error) {
	if in.EncounterDate == nil && in.ChiefComplaint == nil && in.HistoryOfPresentIllness == nil && in.PhysicalExaminationFindings == nil {
		return Encounter{}, errNoChange
	}
	now := s.now()
	var date time.Time
	if in.EncounterDate != nil {
		var err error
		if date, err = pastTime("encounter_date", *in.EncounterDate, now); err != nil {
			return Encounter{}, err
		}
	}
	_, err := s.changeEncounter(ctx, patientID, encounterID, version, ActionEncounterUpdate, func(e *Encounter, ev audit.Event) (audit.Event, error) {
		var fields []string
		if in.EncounterDate != nil {
			e.EncounterDate, fields = date, append(fields, "encounter_date")
		}
		if in.ChiefComplaint != nil {
			e.ChiefComplaint, fields = *in.ChiefComplaint, append(fields, "chief_complaint")
		}
		if in.HistoryOfPresentIllness != nil {
			e.HistoryOfPresentIllness, fields = *in.HistoryOfPresentIllness, append(fields, "history_of_present_illness")
		}
		if in.PhysicalExaminationFindings != nil {
			e.PhysicalExaminationFindings, fields = *in.PhysicalExaminationFindings, append(fields, "physical_examination_findings")
		}
		return ev.With("fields", fields), nil
	})
	if err != nil {
		return Encounter{}, err
	}
	return s.encounterOf(ctx, patientID, encounterID)
}

// changeEncounter applies edit to the latest version of the patient's
// encounter (or only to version, an If-Match, when not 0) after checking
// access for action, and records the audit event edit returns with it.
func (s *Service) changeEncounter(ctx context.Context, patientID int64, encounterID string, version int64, action string,
	edit func(e *Encounter, ev audit.Event) (audit.Event, error)) (Encounter, error) {
	g, err := s.access(ctx, patientID, action)
	if err != nil {
		return Encounter{}, err
	}
	out, err := s.store.UpdateEncounter(ctx, encounterID, version, func(e *Encounter) ([]outbox.Message, error) {
		if e.PatientID != patientID {
			return nil, errNoEncounter
		}
		ev, err := edit(e, event(ctx, g, action, patientID, "encounter", encounterID))
		if err != nil {
			return nil, err
		}
		e.UpdatedAt = s.now()
		return []outbox.Message{ev.Message()}, nil
	})
	if err != nil {
		if version != 0 && errors.Is(err, ErrConflict) {
			return Encounter{}, errEditConflict
		}
		return Encounter{}, s.changeErr(err, errNoEncounter, "change encounter "+encounterID)
	}
	s.wroteIn(patientID, g.caller)
	s.opts.Kick()
	return out, nil
}

// LinkAppointment creates the encounter skeleton of a completed
// appointment (spec flow F1, from the appointment service's outbox),
// creating the patient's record first when there is none. One appointment
// makes one encounter, whatever the replays: its id is derived from the
// appointment, and the insert of that id succeeds once.
func (s *Service) LinkAppointment(ctx context.Context, patientID int64, key string, in ehrapi.LinkAppointment) (Result[Encounter], error) {
	if in.PatientID != 0 && in.PatientID != patientID {
		return Result[Encounter]{}, apperr.Field("patient_id", "Does not match the patient in the path.")
	}
	at := in.AppointmentTime.UTC().Truncate(time.Millisecond)
	if err := checkYear("appointment_time", at); err != nil {
		return Result[Encounter]{}, err
	}
	return once(ctx, s, "link-appointment", key, []any{patientID, in}, func(ctx context.Context) (Encounter, int, error) {
		id := appointmentEncounterID(in.AppointmentID, patientID)
		if e, err := s.encounterOf(ctx, patientID, id); err == nil {
			return e, http.StatusOK, nil
		} else if !apperr.Is(err, apperr.KindNotFound) {
			return Encounter{}, 0, err
		}
		doc, err := s.userWithRole(ctx, "doctor_id", in.DoctorID, auth.RoleDoctor, false)
		if err != nil {
			return Encounter{}, 0, err
		}
		if _, err := s.ensureRecord(ctx, patientID); err != nil {
			return Encounter{}, 0, err
		}
		now := s.now()
		appt := in.AppointmentID
		e := Encounter{EncounterID: id, PatientID: patientID, DoctorID: in.DoctorID, DoctorName: doc.DisplayName(),
			AppointmentID: &appt, EncounterDate: at, CreatedAt: now, UpdatedAt: now}
		msgs := audited(ctx, grant{}, ActionLinkAppointment, patientID, "encounter", id)
		err = s.store.CreateEncounter(ctx, e, msgs...)
		if errors.Is(err, ErrExists) {
			// A concurrent replay inserted it first.
			existing, err := s.encounterOf(ctx, patientID, id)
			return existing, http.StatusOK, err
		}
		if err != nil {
			return Encounter{}, 0, fmt.Errorf("link appointment %d: %w", in.AppointmentID, err)
		}
		s.care.Forget(careKey{patientID, in.DoctorID})
		s.opts.Kick()
		return withLists(e), http.StatusCreated, nil
	})
}
