package booking

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"hospital/lib/audit"
	"hospital/lib/auth"
)

// Get returns one appointment: to its patient, its doctor, nurses and
// admins.
func (s *Service) Get(ctx context.Context, id int64) (Appointment, error) {
	c, err := caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	a, err := s.store.Appointment(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Appointment{}, errNotFound
	}
	if err != nil {
		return Appointment{}, err
	}
	if !c.HasRole(auth.RoleAdmin, auth.RoleNurse) && !isPatientOf(c, a) && !isDoctorOf(c, a) {
		return Appointment{}, errForbidden
	}
	if err := s.store.Enqueue(ctx, audited(ctx, actionRead, a)); err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// ListForPatient: the patient themself, nurses and admins; a doctor sees
// only the patient's appointments with them.
func (s *Service) ListForPatient(ctx context.Context, patientID int64, q ListQuery, limit, offset int) ([]Appointment, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	f, err := s.filter(q)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case c.HasRole(auth.RoleAdmin, auth.RoleNurse):
	case c.Role == auth.RolePatient && c.IsUser(patientID):
	case c.Role == auth.RoleDoctor:
		f.DoctorID = c.UserID
	default:
		return nil, 0, errForbidden
	}
	f.PatientID = patientID
	return s.list(ctx, f, limit, offset, audit.New(ctx, ServiceName, actionList).OnPatient(patientID))
}

// ListForDoctor: the doctor themself, nurses and admins.
func (s *Service) ListForDoctor(ctx context.Context, doctorID int64, q ListQuery, limit, offset int) ([]Appointment, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	f, err := s.filter(q)
	if err != nil {
		return nil, 0, err
	}
	if !c.HasRole(auth.RoleAdmin, auth.RoleNurse) && !(c.Role == auth.RoleDoctor && c.IsUser(doctorID)) {
		return nil, 0, errForbidden
	}
	f.DoctorID = doctorID
	return s.list(ctx, f, limit, offset, audit.New(ctx, ServiceName, actionList).On("doctor", strconv.FormatInt(doctorID, 10)))
}

// list reads one page and records who read it (the patients' ids on it).
func (s *Service) list(ctx context.Context, f ListFilter, limit, offset int, ev audit.Event) ([]Appointment, int, error) {
	items, total, err := s.store.Appointments(ctx, f, limit, offset)
	if err != nil || len(items) == 0 {
		return items, total, err
	}
	ids := make([]int64, 0, len(items))
	for _, a := range items {
		ids = append(ids, a.ID)
	}
	if err := s.store.Enqueue(ctx, ev.With("appointment_ids", ids).Message()); err != nil {
		return nil, 0, err
	}
	return items, total, nil
}

// filter checks a list query and turns its clinic days into UTC bounds.
func (s *Service) filter(q ListQuery) (ListFilter, error) {
	var f ListFilter
	for _, st := range q.Statuses {
		st = strings.ToUpper(strings.TrimSpace(st))
		if st == "" {
			continue
		}
		if !slices.Contains(Statuses, st) {
			return f, errBadStatus
		}
		f.Statuses = append(f.Statuses, st)
	}
	from, to := q.From, q.To
	if q.Date != nil {
		from, to = q.Date, q.Date
	}
	if from != nil {
		t := s.clinicMidnight(*from).UTC()
		f.From = &t
	}
	if to != nil {
		t := s.clinicMidnight(*to).AddDate(0, 0, 1).UTC()
		f.To = &t
	}
	return f, nil
}

// clinicMidnight is the start of d's calendar day in the clinic.
func (s *Service) clinicMidnight(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, s.loc)
}
