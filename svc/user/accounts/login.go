package accounts

import (
	"context"
	"errors"
	"strings"
)

// Login checks credentials and starts a session (a refresh-token family).
// The attempt is counted before the password is checked (Throttle).
func (s *Service) Login(ctx context.Context, in LoginRequest) (TokenPair, error) {
	username := strings.TrimSpace(in.Username)
	at, err := s.begin(ctx, accountKey(username))
	if err != nil {
		return TokenPair{}, err
	}
	a, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return TokenPair{}, err
	}
	if at.engaged && a.ID != 0 {
		s.accountLocked(ctx, a.User)
	}
	ok, rehash, err := s.hasher.Check(ctx, in.Password, a.PasswordHash)
	if err != nil {
		return TokenPair{}, err
	}
	if !ok || !a.IsActive {
		if a.ID != 0 { // unknown usernames are not logged: they may be mistyped passwords
			s.log.InfoContext(ctx, "login failed", "account_id", a.ID)
		}
		return TokenPair{}, errBadCredentials
	}
	if err := s.succeeded(ctx, at); err != nil {
		return TokenPair{}, err
	}
	if rehash {
		s.rehash(ctx, a.ID, in.Password)
	}
	var pair TokenPair
	err = s.store.InTx(ctx, func(tx Store) error {
		// Under the row's share lock: a deactivation or password change
		// waits for this token, and its revocation is stamped after it.
		now, err := tx.UserByIDShared(ctx, a.ID)
		if err != nil {
			return err
		}
		if !now.IsActive || now.PasswordHash != a.PasswordHash {
			return errBadCredentials // changed since the password was checked
		}
		pair, err = s.issueTokens(ctx, tx, now.User, randomID())
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	s.log.InfoContext(ctx, "login", "account_id", a.ID)
	return pair, nil
}

// accountLocked tells the owner that sign-ins to their account are being
// slowed after many failures, once per wave of failures.
func (s *Service) accountLocked(ctx context.Context, u User) {
	msg := s.accountLockedMessage(u, s.now())
	if err := s.store.InTx(ctx, func(tx Store) error { return tx.Enqueue(ctx, msg) }); err != nil {
		s.log.ErrorContext(ctx, "account-locked notice not queued", "account_id", u.ID, "err", err.Error())
		return
	}
	s.opts.Kick()
	s.log.WarnContext(ctx, "sign-ins to the account slowed after repeated failures; owner told", "account_id", u.ID)
}

// Unlock clears every failed-sign-in counter of the account (ADMIN), so
// its owner can sign in at once.
func (s *Service) Unlock(ctx context.Context, id int64) (User, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return User{}, err
	}
	a, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, err
	}
	if err := s.store.ClearAccount(ctx, accountKey(a.Username)); err != nil {
		return User{}, err
	}
	if err := s.audited(ctx, "user.account.unlock", a.User); err != nil {
		return User{}, err
	}
	s.log.InfoContext(ctx, "sign-in counters cleared by admin", "account_id", id, "admin_id", admin.ID)
	return a.User, nil
}

// rehash replaces a hash with outdated parameters. The login goes on if it
// fails (the password was right), but the failure is logged: the account
// keeps its weaker hash until a later login succeeds in replacing it.
func (s *Service) rehash(ctx context.Context, userID int64, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.SetPassword(ctx, userID, h)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "password rehash failed; the old hash stays", "account_id", userID, "err", err.Error())
	}
}

// serviceAccount is how service credentials are counted (no username has
// a colon, so the two cannot meet).
func serviceAccount(name string) string { return "svc:" + name }
