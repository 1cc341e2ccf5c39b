package dispensing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Prescribe writes a prescription for a patient (DOCTOR; the caller is the
// prescriber). Every item names a catalog medication; the patient must be an
// active patient; the patient's EHR allergies are checked against every
// medication, and a match refuses the prescription (409) unless it carries
// an override reason. If the EHR cannot be asked, nothing is written (503).
// The EHR learns of the prescription through the outbox (flow F3).
func (s *Service) Prescribe(ctx context.Context, key string, in PrescribeRequest) (Result[Prescription], error) {
	c, err := caller(ctx)
	if err != nil {
		return Result[Prescription]{}, err
	}
	if in.DoctorID != 0 && in.DoctorID != c.UserID {
		return Result[Prescription]{}, errDoctorNotCaller
	}
	return once(ctx, s, "prescribe", key, fingerprint(c.UserID, in), func(ctx context.Context) (Prescription, error) {
		id := newID(s.now())
		if key != "" {
			id = idFromKey("prescription", strconv.FormatInt(c.UserID, 10), key)
		}
		return s.prescribe(ctx, c, id, in)
	})
}

func (s *Service) prescribe(ctx context.Context, c auth.Identity, id string, in PrescribeRequest) (Prescription, error) {
	meds, err := s.prescribedMedications(ctx, in.Items)
	if err != nil {
		return Prescription{}, err
	}
	patient, err := s.users.User(ctx, in.PatientID)
	switch {
	case errors.Is(err, userapi.ErrNotFound):
		return Prescription{}, errPatientUnknown
	case err != nil:
		return Prescription{}, errors.Join(errUsersUnavailable, err)
	case patient.Role != auth.RolePatient || !patient.IsActive:
		return Prescription{}, errPatientUnknown
	}
	doctor, err := s.users.User(ctx, c.UserID)
	if err != nil {
		return Prescription{}, errors.Join(errUsersUnavailable, err)
	}
	known, err := s.ehr.Allergies(ctx, in.PatientID)
	if err != nil {
		s.log.Warn("allergy check impossible: prescription refused", "patient_id", in.PatientID, "err", err.Error())
		return Prescription{}, errors.Join(errAllergyUnavailable, err)
	}
	now := s.now().UTC()
	check := AllergyCheck{CheckedAt: now, RecordFound: known.HasRecord, Allergies: nonNil(known.Allergies),
		Matches: nonNil(allergyMatches(known.Allergies, meds))}
	if len(check.Matches) > 0 {
		reason := strings.TrimSpace(in.AllergyOverrideReason)
		if reason == "" {
			refusal := event(ctx, "pharmacy.prescription.allergy_refused", in.PatientID, "prescription", id).
				WithOutcome(audit.Failed).With("matches", len(check.Matches))
			if err := s.record(ctx, refusal); err != nil {
				return Prescription{}, err
			}
			return Prescription{}, errAllergy(check.Matches)
		}
		check.OverrideReason = &reason
	}

	p := Prescription{
		ID: id, PatientID: patient.ID, PatientName: patient.DisplayName(), DoctorID: c.UserID, DoctorName: doctor.DisplayName(),
		DatePrescribed: now, Status: StatusPendingVerification, NotesForPharmacist: strings.TrimSpace(in.NotesForPharmacist),
		DispenseHistory: []DispenseEntry{}, AllergyCheck: check, UpdatedAt: now, AwaitingPharmacy: true,
		Pending: []PendingDispense{},
	}
	if enc := strings.TrimSpace(in.EHREncounterID); enc != "" {
		p.EHREncounterID = &enc
	}
	for i, it := range in.Items {
		p.Items = append(p.Items, Item{
			ItemID: newItemID(), MedicationID: it.MedicationID, MedicationName: meds[i].Name,
			Dosage: strings.TrimSpace(it.Dosage), Frequency: strings.TrimSpace(it.Frequency), DurationDays: it.DurationDays,
			Instructions: strings.TrimSpace(it.Instructions), QuantityPrescribed: it.QuantityPrescribed,
		})
	}
	created := event(ctx, "pharmacy.prescription.create", p.PatientID, "prescription", p.ID).With("items", len(p.Items))
	if check.OverrideReason != nil {
		created = created.With("allergy_override", true)
	}
	err = s.store.CreatePrescription(ctx, &p, prescriptionReference(p), created.Message())
	if errors.Is(err, ErrDuplicate) {
		// The same request again (its key names the same prescription).
		existing, err := s.store.Prescription(ctx, id)
		return existing, storeErr(err, "read prescription "+id)
	}
	if err != nil {
		return Prescription{}, storeErr(err, "create prescription")
	}
	return p, nil
}

// prescribedMedications reads the catalog entry of every item, in order.
func (s *Service) prescribedMedications(ctx context.Context, items []ItemRequest) ([]Medication, error) {
	out := make([]Medication, len(items))
	byID := map[string]Medication{}
	for i, it := range items {
		field := fmt.Sprintf("items[%d].", i)
		if !validID(it.MedicationID) {
			return nil, apperr.Field(field+"medication_id", "No medication with this id in the catalog.")
		}
		if it.QuantityPrescribed > s.cfg.MaxItemQuantity {
			return nil, apperr.Field(field+"quantity_prescribed", fmt.Sprintf("Ensure this value is less than or equal to %d.", s.cfg.MaxItemQuantity))
		}
		m, ok := byID[it.MedicationID]
		if !ok {
			var err error
			m, err = s.medication(ctx, it.MedicationID)
			if errors.Is(err, errMedicationUnknown) {
				return nil, apperr.Field(field+"medication_id", "No medication with this id in the catalog.")
			}
			if err != nil {
				return nil, err
			}
			byID[it.MedicationID] = m
		}
		out[i] = m
	}
	return out, nil
}

// Cancel cancels a prescription until it is fully dispensed (its prescriber
// or a pharmacist, with a reason). What was dispensed stays dispensed.
func (s *Service) Cancel(ctx context.Context, id string, in CancelRequest) (Prescription, error) {
	c, err := caller(ctx)
	if err != nil {
		return Prescription{}, err
	}
	if !validID(id) {
		return Prescription{}, errNotFound
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return Prescription{}, apperr.Field("reason", "This field may not be blank.")
	}
	var denied *Prescription
	p, err := s.store.UpdatePrescription(ctx, id, func(p *Prescription) ([]outbox.Message, error) {
		if c.Role == auth.RoleDoctor && p.DoctorID != c.UserID {
			denied = p
			return nil, errNotPrescriber
		}
		switch p.Status {
		case StatusPendingVerification, StatusVerified, StatusDispensedPartial:
		default:
			return nil, errStatus("cancelled", p.Status)
		}
		if len(p.Pending) > 0 {
			return nil, errDispenseBusy
		}
		now := s.now().UTC()
		p.Status, p.AwaitingPharmacy, p.UpdatedAt = StatusCancelled, false, now
		p.Cancellation = &Cancellation{By: c.UserID, Role: c.Role, Reason: reason, At: now}
		return []outbox.Message{event(ctx, "pharmacy.prescription.cancel", p.PatientID, "prescription", p.ID).Message()}, nil
	})
	if denied != nil {
		ev := event(ctx, "pharmacy.prescription.cancel", denied.PatientID, "prescription", id).WithOutcome(audit.Denied)
		if err := s.record(ctx, ev); err != nil {
			return Prescription{}, err
		}
		return Prescription{}, errNotPrescriber
	}
	return p, storeErr(err, "cancel prescription "+id)
}

// nonNil makes a nil slice an empty one (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
