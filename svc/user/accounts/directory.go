package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/userapi"
)

// What other services may learn about users (lib/userapi). The route table
// names which services may ask; these answer only that.

// Summary is the userapi view of u: a role and a name, no contact details.
func Summary(u User) userapi.User {
	return userapi.User{
		ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, IsActive: u.IsActive, Sex: u.Sex, DateOfBirth: u.DateOfBirth,
	}
}

// UserSummary returns the user with id for another service.
func (s *Service) UserSummary(ctx context.Context, id int64) (userapi.User, error) {
	a, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return userapi.User{}, errUserNotFound
	}
	if err != nil {
		return userapi.User{}, err
	}
	return Summary(a.User), nil
}

// Contact returns how to reach the user with id (the notification service).
func (s *Service) Contact(ctx context.Context, id int64) (userapi.Contact, error) {
	a, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return userapi.Contact{}, errUserNotFound
	}
	if err != nil {
		return userapi.Contact{}, err
	}
	return contactOf(a), nil
}

func contactOf(a Account) userapi.Contact {
	return userapi.Contact{
		UserID: a.ID, Email: a.Email, PhoneNumber: a.PhoneNumber, FirstName: a.FirstName,
		LastName: a.LastName, Username: a.Username, PushToken: a.PushToken, Language: a.Language,
	}
}

// Summaries lists users by role and activity for another service.
func (s *Service) Summaries(ctx context.Context, f ListFilter) ([]userapi.User, int, error) {
	if f.Role != "" && !slices.Contains(Roles, f.Role) {
		return nil, 0, badRoleFilter(f.Role)
	}
	f.Search = "" // services select by role, never by what a person is called
	users, n, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	out := make([]userapi.User, len(users))
	for i, u := range users {
		out[i] = Summary(u)
	}
	return out, n, nil
}

func badRoleFilter(role string) error {
	return apperr.Field("role", "Select a valid choice. "+role+" is not one of the available choices.")
}

// birthDate checks a date of birth: YYYY-MM-DD, from 1900 to today; blank
// means none.
func birthDate(v string, now time.Time) (*string, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, ""
	}
	d, err := time.Parse(time.DateOnly, v)
	switch {
	case err != nil:
		return nil, "Enter a valid date in the format YYYY-MM-DD."
	case d.Year() < 1900:
		return nil, "Enter a date of birth from 1900 on."
	case d.After(now):
		return nil, "A date of birth cannot be in the future."
	}
	out := d.Format(time.DateOnly)
	return &out, ""
}

// sexOf turns "" into none.
func sexOf(v string) *string {
	if v = strings.TrimSpace(v); v == "" {
		return nil
	}
	return &v
}
