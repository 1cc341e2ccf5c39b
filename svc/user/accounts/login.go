package accounts

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Login checks credentials and starts a session (a refresh-token family).
// Failed attempts are counted per username before the password is even
// checked, so parallel guesses cannot exceed the limit.
func (s *Service) Login(ctx context.Context, in LoginRequest) (TokenPair, error) {
	username := strings.TrimSpace(in.Username)
	key := strings.ToLower(username)
	lo := s.opts.Lockout

	var retryAfter time.Duration
	err := s.store.InTx(ctx, func(tx Store) error {
		now := s.now()
		f, err := tx.LockFailures(ctx, key, now)
		if err != nil {
			return err
		}
		if f.LockedUntil != nil {
			if now.Before(*f.LockedUntil) {
				retryAfter = f.LockedUntil.Sub(now)
				return nil
			}
			f = Failures{WindowStart: now} // the lock is over: start afresh
		}
		if now.Sub(f.WindowStart) >= lo.Window {
			f.Failures, f.WindowStart = 0, now
		}
		if f.Failures >= lo.MaxFailures {
			until := now.Add(lo.Duration)
			f.LockedUntil, retryAfter = &until, lo.Duration
			return tx.SaveFailures(ctx, key, f)
		}
		f.Failures++ // counts as a failure until the password proves right
		return tx.SaveFailures(ctx, key, f)
	})
	if err != nil {
		return TokenPair{}, err
	}
	if retryAfter > 0 {
		return TokenPair{}, lockedError(retryAfter)
	}

	a, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return TokenPair{}, err
	}
	ok, rehash, err := s.hasher.Check(ctx, in.Password, a.PasswordHash)
	if err != nil {
		return TokenPair{}, err
	}
	if !ok || !a.IsActive {
		locked, err := s.store.LockIfOver(ctx, key, lo.MaxFailures, s.now().Add(lo.Duration))
		if err != nil {
			return TokenPair{}, err
		}
		var who []any // unknown usernames are not logged: they may be mistyped passwords
		if a.ID != 0 {
			who = []any{"account_id", a.ID}
		}
		if locked {
			s.log.WarnContext(ctx, "login locked after repeated failures", append(who, "locked_for", lo.Duration.String())...)
		} else {
			s.log.InfoContext(ctx, "login failed", who...)
		}
		return TokenPair{}, errBadCredentials
	}
	if err := s.store.ClearFailures(ctx, key); err != nil {
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
