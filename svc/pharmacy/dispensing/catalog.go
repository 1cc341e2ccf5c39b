package dispensing

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"hospital/lib/apperr"
)

// codePattern is what a medication code may look like ("PARA500").
var codePattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]*$`)

// CreateMedication adds a medication to the catalog (ADMIN); its code is
// unique (kept upper case).
func (s *Service) CreateMedication(ctx context.Context, in MedicationRequest) (Medication, error) {
	code := strings.ToUpper(strings.TrimSpace(in.MedicationCode))
	if !codePattern.MatchString(code) {
		return Medication{}, apperr.Field("medication_code", "Use letters, digits, '.', '_' or '-' (e.g. PARA500).")
	}
	name, generic := strings.TrimSpace(in.Name), strings.TrimSpace(in.GenericName)
	if name == "" {
		return Medication{}, apperr.Field("name", "This field may not be blank.")
	}
	if generic == "" {
		return Medication{}, apperr.Field("generic_name", "This field may not be blank.")
	}
	price, err := ParseMoney("unit_price", in.UnitPrice)
	if err != nil {
		return Medication{}, err
	}
	m := Medication{
		ID: newID(s.now()), MedicationCode: code, Name: name, GenericName: generic,
		Manufacturer: strings.TrimSpace(in.Manufacturer), Description: strings.TrimSpace(in.Description),
		UnitPrice: price, DosageForm: strings.TrimSpace(in.DosageForm), Strength: strings.TrimSpace(in.Strength),
		CreatedAt: s.now().UTC(),
	}
	ev := event(ctx, "pharmacy.medication.create", 0, "medication", m.ID).With("medication_code", code)
	if err := s.store.InsertMedication(ctx, m, ev.Message()); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return Medication{}, errCodeTaken
		}
		return Medication{}, storeErr(err, "create medication "+code)
	}
	return m, nil
}

// Medications lists the catalog, searched by name, generic name or code.
func (s *Service) Medications(ctx context.Context, search string, p Page) ([]Medication, int, error) {
	out, n, err := s.store.Medications(ctx, strings.TrimSpace(search), p)
	return out, n, storeErr(err, "list medications")
}

// medication reads one catalog entry; an unknown id is errMedicationUnknown.
// Catalog entries are never changed once created (the spec gives the
// catalog a list and a create only), so each instance keeps those it read.
func (s *Service) medication(ctx context.Context, id string) (Medication, error) {
	if m, ok := s.catalog.Load(id); ok {
		return m.(Medication), nil
	}
	m, err := s.store.Medication(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Medication{}, errMedicationUnknown
	}
	if err != nil {
		return Medication{}, storeErr(err, "read medication "+id)
	}
	s.catalog.Store(id, m)
	return m, nil
}
