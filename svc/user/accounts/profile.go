package accounts

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/httpx"
)

var (
	errCurrentPasswordNeeded = apperr.Field("current_password", "Enter your current password to change your email or phone number.")
	errCurrentPasswordWrong  = apperr.Field("current_password", "Your current password was entered incorrectly.")
)

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context) (User, error) {
	a, err := s.requireUser(ctx)
	return a.User, err
}

// UpdateMe changes the caller's own details. Role, staff and active flags,
// username and password cannot be changed here. A new email or phone number
// needs the current password (a stolen session must not become a stolen
// account); a new email takes effect when the link sent to it is followed.
func (s *Service) UpdateMe(ctx context.Context, in UpdateMeRequest) (User, error) {
	a, err := s.requireUser(ctx)
	if err != nil {
		return User{}, err
	}
	errs := refusedFields(in)
	trim(in.FirstName, in.LastName, in.ProfilePictureURL, in.PushToken)
	var newEmail string
	if in.Email != nil {
		newEmail = normalizeEmail(*in.Email)
		if newEmail == "" {
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
	next := a
	if in.FirstName != nil {
		next.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		next.LastName = *in.LastName
	}
	if in.PhoneNumber != nil {
		phone, ok := normalizePhone(*in.PhoneNumber)
		if !ok {
			errs["phone_number"] = append(errs["phone_number"], msgBadPhone)
		}
		next.PhoneNumber = phone
	}
	switch {
	case clearPicture:
		next.ProfilePictureURL = nil
	case in.ProfilePictureURL != nil:
		next.ProfilePictureURL = in.ProfilePictureURL
	}
	if in.Language != nil {
		next.Language = *in.Language
	}
	if in.PushToken != nil {
		next.PushToken = nil
		if *in.PushToken != "" {
			next.PushToken = in.PushToken
		}
	}
	s.applyBiology(&next.User, in.Sex, in.DateOfBirth, errs)
	emailChange := in.Email != nil && !strings.EqualFold(newEmail, a.Email)
	phoneChange := in.PhoneNumber != nil && deref(next.PhoneNumber) != deref(a.PhoneNumber)
	if (emailChange || phoneChange) && (in.CurrentPassword == nil || *in.CurrentPassword == "") && len(errs) == 0 {
		errs["current_password"] = errCurrentPasswordNeeded.Fields["current_password"]
	}
	if len(errs) > 0 {
		return User{}, apperr.Validation(errs)
	}
	if emailChange || phoneChange {
		ok, _, err := s.hasher.Check(ctx, *in.CurrentPassword, a.PasswordHash)
		if err != nil {
			return User{}, err
		}
		if !ok {
			s.log.WarnContext(ctx, "contact change refused: wrong current password", "account_id", a.ID)
			return User{}, errCurrentPasswordWrong
		}
	}
	var takenPhone *string
	if phoneChange {
		takenPhone = next.PhoneNumber
	}
	taken, err := s.store.TakenFields(ctx, "", map[bool]string{true: newEmail}[emailChange], takenPhone, a.ID)
	if err != nil {
		return User{}, err
	}
	if len(taken) > 0 {
		return User{}, takenError(taken)
	}
	if in.Email != nil && !emailChange {
		next.PendingEmail = nil // asking for the current address cancels a pending change
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if _, err := tx.UserByIDForUpdate(ctx, a.ID); err != nil {
			return err
		}
		if emailChange {
			if err := s.requestEmailChange(ctx, tx, &next, newEmail); err != nil {
				return err
			}
		}
		if err := tx.UpdateProfile(ctx, next); err != nil {
			return asTaken(err)
		}
		return tx.Enqueue(ctx, auditEvent(ctx, "user.account.update", next.User))
	})
	if err != nil {
		return User{}, err
	}
	s.opts.Kick()
	if emailChange {
		s.log.InfoContext(ctx, "email change requested; waiting for the link", "account_id", a.ID)
	}
	if phoneChange {
		s.log.InfoContext(ctx, "phone number changed", "account_id", a.ID)
	}
	a, err = s.store.UserByID(ctx, a.ID)
	return a.User, err
}

// refusedFields names the fields a user may not change about themself.
func refusedFields(in UpdateMeRequest) map[string][]string {
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
	return errs
}

func trim(ps ...*string) {
	for _, p := range ps {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
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
