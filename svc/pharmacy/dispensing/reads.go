package dispensing

import (
	"context"
	"slices"

	"hospital/lib/audit"
	"hospital/lib/auth"
)

// Prescription returns one prescription: to its patient, and to doctors,
// nurses and pharmacists. Every read is an audit event, a refused one too.
func (s *Service) Prescription(ctx context.Context, id string) (Prescription, error) {
	c, err := caller(ctx)
	if err != nil {
		return Prescription{}, err
	}
	if !validID(id) {
		return Prescription{}, errNotFound
	}
	p, err := s.store.Prescription(ctx, id)
	if err != nil {
		return Prescription{}, storeErr(err, "read prescription "+id)
	}
	ev := event(ctx, "pharmacy.prescription.read", p.PatientID, "prescription", p.ID)
	if c.Role == auth.RolePatient && !c.IsUser(p.PatientID) {
		if err := s.record(ctx, ev.WithOutcome(audit.Denied)); err != nil {
			return Prescription{}, err
		}
		return Prescription{}, errNotYours
	}
	return p, s.record(ctx, ev)
}

// PatientPrescriptions lists a patient's prescriptions, newest first: the
// patient themself, doctors, nurses and pharmacists.
func (s *Service) PatientPrescriptions(ctx context.Context, patientID int64, f PrescriptionFilter, p Page) ([]Prescription, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	ev := event(ctx, "pharmacy.prescription.list", patientID, "patient", itoa(patientID))
	if c.Role == auth.RolePatient && !c.IsUser(patientID) {
		if err := s.record(ctx, ev.WithOutcome(audit.Denied)); err != nil {
			return nil, 0, err
		}
		return nil, 0, errNotYours
	}
	out, n, err := s.store.PatientPrescriptions(ctx, patientID, f, p)
	if err != nil {
		return nil, 0, storeErr(err, "list prescriptions")
	}
	return out, n, s.record(ctx, ev)
}

// Pending lists the prescriptions waiting for the pharmacy (to verify or
// to dispense), oldest first. Each patient on the page is an audit event.
func (s *Service) Pending(ctx context.Context, f PrescriptionFilter, p Page) ([]Prescription, int, error) {
	out, n, err := s.store.AwaitingPharmacy(ctx, f, p)
	if err != nil {
		return nil, 0, storeErr(err, "list pending prescriptions")
	}
	var patients []int64
	var events []audit.Event
	for _, x := range out {
		if !slices.Contains(patients, x.PatientID) {
			patients = append(patients, x.PatientID)
			events = append(events, event(ctx, "pharmacy.prescription.pending.list", x.PatientID, "patient", itoa(x.PatientID)))
		}
	}
	return out, n, s.record(ctx, events...)
}

// DispenseLog returns one dispense log (pharmacists); an audited read.
func (s *Service) DispenseLog(ctx context.Context, id string) (DispenseLog, error) {
	if !validID(id) {
		return DispenseLog{}, errNotFound
	}
	d, err := s.store.DispenseLog(ctx, id)
	if err != nil {
		return DispenseLog{}, storeErr(err, "read dispense log "+id)
	}
	return d, s.record(ctx, event(ctx, "pharmacy.dispense.read", d.PatientID, "dispense_log", d.ID))
}
