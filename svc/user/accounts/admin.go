package accounts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// GetUser returns any account, for ADMIN and services.
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return User{}, err
	}
	a, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, err
	}
	if a.Role == auth.RolePatient {
		if err := s.audited(ctx, "user.account.read", a.User); err != nil {
			return User{}, err
		}
	}
	return a.User, nil
}

// ContactInfo is how the Notification service reaches a user (the old
// admin path; lib/userapi's is Contact).
func (s *Service) ContactInfo(ctx context.Context, id int64) (userapi.Contact, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return userapi.Contact{}, err
	}
	return s.Contact(ctx, id)
}

// ListUsers filters and pages accounts, for ADMIN and services.
func (s *Service) ListUsers(ctx context.Context, f ListFilter) ([]User, int, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return nil, 0, err
	}
	if f.Role != "" && !slices.Contains(Roles, f.Role) {
		return nil, 0, badRoleFilter(f.Role)
	}
	return s.store.ListUsers(ctx, f)
}

// AdminUpdate lets an ADMIN correct a user's names, sex and date of birth.
func (s *Service) AdminUpdate(ctx context.Context, id int64, in AdminUpdateRequest) (User, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return User{}, err
	}
	var out User
	err = s.store.InTx(ctx, func(tx Store) error {
		a, err := tx.UserByIDForUpdate(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return errUserNotFound
		}
		if err != nil {
			return err
		}
		errs := map[string][]string{}
		if in.FirstName != nil {
			a.FirstName = strings.TrimSpace(*in.FirstName)
		}
		if in.LastName != nil {
			a.LastName = strings.TrimSpace(*in.LastName)
		}
		s.applyBiology(&a.User, in.Sex, in.DateOfBirth, errs)
		if len(errs) > 0 {
			return apperr.Validation(errs)
		}
		if err := tx.UpdateProfile(ctx, a); err != nil {
			return asTaken(err)
		}
		out = a.User
		return tx.Enqueue(ctx, auditEvent(ctx, "user.account.update", a.User))
	})
	if err == nil {
		s.log.InfoContext(ctx, "account details corrected by admin", "account_id", id, "admin_id", admin.ID)
	}
	return out, err
}

// applyBiology sets sex and date of birth from optional fields (blank
// clears), collecting problems in errs.
func (s *Service) applyBiology(u *User, sex, born *string, errs map[string][]string) {
	if sex != nil {
		u.Sex = sexOf(*sex)
	}
	if born != nil {
		d, msg := birthDate(*born, s.now())
		if msg != "" {
			errs["date_of_birth"] = append(errs["date_of_birth"], msg)
		}
		u.DateOfBirth = d
	}
}

// SetActive activates or deactivates an account (ADMIN). Deactivation ends
// the account's sessions; an admin cannot deactivate their own account.
func (s *Service) SetActive(ctx context.Context, id int64, active bool) (User, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return User{}, err
	}
	if id == admin.ID && !active {
		return User{}, errSelfDeactivate
	}
	action := map[bool]string{true: "user.account.activate", false: "user.account.deactivate"}[active]
	err = s.store.InTx(ctx, func(tx Store) error {
		a, err := tx.UserByIDForUpdate(ctx, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return errUserNotFound
			}
			return err
		}
		if err := tx.SetActive(ctx, id, active); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, auditEvent(ctx, action, a.User)); err != nil {
			return err
		}
		if active {
			return nil
		}
		if err := tx.RevokeUserSessions(ctx, id, s.now()); err != nil {
			return err
		}
		return revokeUserIn(ctx, tx, id)
	})
	if err != nil {
		return User{}, err
	}
	s.opts.Kick()
	if !active {
		s.revoked(ctx)
	}
	s.log.InfoContext(ctx, "account activation changed", "account_id", id, "is_active", active, "admin_id", admin.ID)
	a, err := s.store.UserByID(ctx, id)
	return a.User, err
}

// Cleanup deletes what can no longer be used: refresh and reset tokens
// expired a day ago, and stale login-failure counters.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	return s.store.Cleanup(ctx, now.Add(-24*time.Hour), now.Add(-s.opts.Throttle.Lock), now)
}
