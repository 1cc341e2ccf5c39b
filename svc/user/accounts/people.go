package accounts

import (
	"context"
	"strings"
	"unicode/utf8"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
)

// Finding people: any signed-in user lists the active doctors (to book
// one); staff search patients (to find whose record, prescription or lab
// order it is). The route table says which staff.

var errSearchTooShort = apperr.Field("search", "Enter at least 2 characters of the patient's name, username or email.")

// Doctors lists the active doctors, optionally those matching search.
func (s *Service) Doctors(ctx context.Context, search string, offset, limit int) ([]DoctorListing, int, error) {
	users, n, err := s.store.ListUsers(ctx, ListFilter{
		Role: auth.RoleDoctor, IsActive: ptr(true), Search: strings.TrimSpace(search), Offset: offset, Limit: limit,
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]DoctorListing, len(users))
	for i, u := range users {
		out[i] = DoctorListing{ID: u.ID, Name: Summary(u).DisplayName(), FirstName: u.FirstName, LastName: u.LastName}
	}
	return out, n, nil
}

// Patients finds active patients by name, username or email. Each search
// is audited with the patients it showed.
func (s *Service) Patients(ctx context.Context, search string, offset, limit int) ([]PatientListing, int, error) {
	search = strings.TrimSpace(search)
	if utf8.RuneCountInString(search) < 2 {
		return nil, 0, errSearchTooShort
	}
	users, n, err := s.store.ListUsers(ctx, ListFilter{
		Role: auth.RolePatient, IsActive: ptr(true), Search: search, Offset: offset, Limit: limit,
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]PatientListing, len(users))
	ids := make([]int64, len(users))
	for i, u := range users {
		out[i] = PatientListing{ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
			Sex: u.Sex, DateOfBirth: u.DateOfBirth}
		ids[i] = u.ID
	}
	if len(ids) > 0 {
		ev := audit.New(ctx, "user", "user.patients.search").On("user", "patients").With("patient_ids", ids)
		if err := s.store.InTx(ctx, func(tx Store) error { return tx.Enqueue(ctx, ev.Message()) }); err != nil {
			return nil, 0, err
		}
		s.opts.Kick()
	}
	return out, n, nil
}

func ptr[T any](v T) *T { return &v }
