package accounts

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/httpx"
)

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context) (User, error) {
	a, err := s.requireUser(ctx)
	return a.User, err
}

// UpdateMe changes the caller's contact details and profile picture. Role,
// staff and active flags, username and password cannot be changed here.
func (s *Service) UpdateMe(ctx context.Context, in UpdateMeRequest) (User, error) {
	a, err := s.requireUser(ctx)
	if err != nil {
		return User{}, err
	}
	u := a.User
	errs := map[string][]string{}
	for field, v := range map[string]json.RawMessage{
		"role": in.Role, "role_name": in.RoleName, "is_staff": in.IsStaff, "is_active": in.IsActive, "username": in.Username,
	} {
		if v != nil {
			errs[field] = []string{"You cannot change this field."}
		}
	}
	if in.Password != nil {
		errs["password"] = []string{"Use /api/v1/users/password/change/ to change your password."}
	}
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(in.FirstName)
	trim(in.LastName)
	trim(in.ProfilePictureURL)
	if in.Email != nil {
		e := normalizeEmail(*in.Email)
		in.Email = &e
		if e == "" {
			errs["email"] = []string{"This field may not be blank."}
		}
	}
	clearPicture := in.ProfilePictureURL != nil && *in.ProfilePictureURL == ""
	if in.ProfilePictureURL != nil && !clearPicture && !isHTTPURL(*in.ProfilePictureURL) {
		errs["profile_picture_url"] = []string{"Enter a valid URL."}
	}
	if err := httpx.Validate(&in); err != nil {
		e, ok := apperr.As(err)
		if !ok {
			return User{}, err
		}
		for f, m := range e.Fields {
			errs[f] = append(errs[f], m...)
		}
	}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if in.FirstName != nil {
		u.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		u.LastName = *in.LastName
	}
	var newPhone *string
	if in.PhoneNumber != nil {
		phone, ok := normalizePhone(*in.PhoneNumber)
		if !ok {
			errs["phone_number"] = append(errs["phone_number"], msgBadPhone)
		}
		u.PhoneNumber, newPhone = phone, phone
	}
	s.applyBiology(&u, in.Sex, in.DateOfBirth, errs)
	switch {
	case clearPicture:
		u.ProfilePictureURL = nil
	case in.ProfilePictureURL != nil:
		u.ProfilePictureURL = in.ProfilePictureURL
	}
	if len(errs) > 0 {
		return User{}, apperr.Validation(errs)
	}
	email := ""
	if in.Email != nil {
		email = u.Email
	}
	taken, err := s.store.TakenFields(ctx, "", email, newPhone, u.ID)
	if err != nil {
		return User{}, err
	}
	if len(taken) > 0 {
		return User{}, takenError(taken)
	}
	if err := s.store.UpdateProfile(ctx, u); err != nil {
		return User{}, asTaken(err)
	}
	a, err = s.store.UserByID(ctx, u.ID)
	return a.User, err
}

// isHTTPURL accepts what Django's URLField does, roughly: an absolute
// http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.ContainsAny(s, " \t\n") {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}
