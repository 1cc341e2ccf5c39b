package accounts

import (
	"context"
	"errors"
	"slices"
	"time"

	"hospital/lib/apperr"
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
	return a.User, err
}

// ContactInfo is how the Notification service reaches a user.
func (s *Service) ContactInfo(ctx context.Context, id int64) (ContactInfo, error) {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return ContactInfo{}, err
	}
	return ContactInfo{
		UserID: u.ID, Email: u.Email, PhoneNumber: u.PhoneNumber, FirstName: u.FirstName,
		LastName: u.LastName, Username: u.Username, Language: "vi",
	}, nil
}

// ListUsers filters and pages accounts, for ADMIN and services.
func (s *Service) ListUsers(ctx context.Context, f ListFilter) ([]User, int, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return nil, 0, err
	}
	if f.Role != "" && !slices.Contains(Roles, f.Role) {
		return nil, 0, apperr.Field("role", "Select a valid choice. "+f.Role+" is not one of the available choices.")
	}
	return s.store.ListUsers(ctx, f)
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
	err = s.store.InTx(ctx, func(tx Store) error {
		if _, err := tx.UserByIDForUpdate(ctx, id); err != nil {
			if errors.Is(err, ErrNotFound) {
				return errUserNotFound
			}
			return err
		}
		if err := tx.SetActive(ctx, id, active); err != nil {
			return err
		}
		if !active {
			return tx.RevokeUserSessions(ctx, id, s.now())
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	s.log.InfoContext(ctx, "account activation changed", "account_id", id, "is_active", active, "admin_id", admin.ID)
	a, err := s.store.UserByID(ctx, id)
	return a.User, err
}

// Cleanup deletes what can no longer be used: refresh and reset tokens
// expired a day ago, and stale login-failure counters.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	return s.store.Cleanup(ctx, now.Add(-24*time.Hour), now.Add(-s.opts.Lockout.Window), now)
}
