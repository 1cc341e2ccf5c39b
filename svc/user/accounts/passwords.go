package accounts

import (
	"context"
	"errors"
	"strings"
	"time"

	"hospital/lib/apperr"
)

// ChangePassword sets a new password after checking the old one, and ends
// every session of the user.
func (s *Service) ChangePassword(ctx context.Context, in PasswordChangeRequest) error {
	a, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Check(ctx, in.OldPassword, a.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return errBadOldPassword
	}
	if p := PasswordProblems(in.NewPassword, a.Username, a.Email, a.FirstName, a.LastName); len(p) > 0 {
		return apperr.Validation(map[string][]string{"new_password": p})
	}
	hash, err := s.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		return s.replacePassword(ctx, tx, a.ID, hash)
	})
	if err != nil {
		return err
	}
	s.opts.Kick()
	s.revoked(ctx)
	s.log.InfoContext(ctx, "password changed; sessions revoked", "account_id", a.ID)
	return nil
}

// replacePassword stores a new hash, ends every token and session of the
// user from before it, and tells the owner (in case it was not them).
func (s *Service) replacePassword(ctx context.Context, tx Store, userID int64, hash string) error {
	a, err := tx.UserByIDForUpdate(ctx, userID)
	if err != nil {
		return err
	}
	if err := tx.SetPassword(ctx, userID, hash); err != nil {
		return err
	}
	if err := tx.RevokeUserSessions(ctx, userID, s.now()); err != nil {
		return err
	}
	if err := revokeUserIn(ctx, tx, userID); err != nil {
		return err
	}
	if err := tx.Enqueue(ctx, auditEvent(ctx, "user.password.change", a.User)); err != nil {
		return err
	}
	return tx.Enqueue(ctx, s.passwordChangedMessage(a.User, revocationTime()))
}

// ResetSentMessage is the answer to every reset request.
const ResetSentMessage = msgResetSent

// RequestPasswordReset takes a reset request for email and answers at
// once: the work (is there an account, send the link) happens afterwards,
// so the answer takes the same time whether or not the address has an
// account. A flood beyond the queue is dropped (and logged); the answer is
// the same.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	select {
	case s.resets <- normalizeEmail(email):
	default:
		s.log.WarnContext(ctx, "password reset queue full; request dropped")
	}
	return nil
}

// RunResets handles reset requests until ctx ends.
func (s *Service) RunResets(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case email := <-s.resets:
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := s.sendReset(wctx, email); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(wctx, "password reset not sent", "err", err.Error())
			}
			cancel()
		}
	}
}

// sendReset sends a reset link to the active account with email, at most
// one per ResetInterval and ResetsPerDay a day per address: the link is
// useful once, and a stranger must not be able to flood an inbox.
func (s *Service) sendReset(ctx context.Context, email string) error {
	a, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.IsActive) {
		return nil
	}
	if err != nil {
		return err
	}
	raw := randomToken()
	var (
		rowID     int64
		throttled bool
	)
	err = s.store.InTx(ctx, func(tx Store) error {
		if _, err := tx.UserByIDForUpdate(ctx, a.ID); err != nil { // one instance at a time per user
			return err
		}
		now := s.now()
		n, last, err := tx.ResetStats(ctx, a.ID, now.Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if n >= s.opts.ResetsPerDay || (!last.IsZero() && now.Sub(last) < s.opts.ResetInterval) {
			throttled = true
			return nil
		}
		if rowID, err = tx.InsertReset(ctx, tokenHash(raw), a.ID, now, now.Add(s.opts.ResetTTL)); err != nil {
			return err
		}
		return tx.Enqueue(ctx, s.resetMessage(a.User, rowID, raw))
	})
	if err != nil {
		return err
	}
	if throttled {
		s.log.InfoContext(ctx, "password reset email throttled", "account_id", a.ID)
		return nil
	}
	s.opts.Kick()
	s.log.InfoContext(ctx, "password reset requested", "account_id", a.ID, "reset_id", rowID)
	return nil
}

// ConfirmPasswordReset sets a new password with a reset token. The token,
// and every other outstanding one of the user, is spent; sessions end.
func (s *Service) ConfirmPasswordReset(ctx context.Context, in PasswordResetConfirmRequest) error {
	hash := tokenHash(strings.TrimSpace(in.Token))
	usable := func(r ResetToken) bool { return !r.Used && s.now().Before(r.ExpiresAt) }
	r, err := s.store.ResetByHash(ctx, hash, false)
	if errors.Is(err, ErrNotFound) || (err == nil && !usable(r)) {
		return errBadResetToken
	}
	if err != nil {
		return err
	}
	a, err := s.store.UserByID(ctx, r.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.IsActive) {
		return errBadResetToken
	}
	if err != nil {
		return err
	}
	if p := PasswordProblems(in.NewPassword, a.Username, a.Email, a.FirstName, a.LastName); len(p) > 0 {
		return apperr.Validation(map[string][]string{"new_password": p})
	}
	pwHash, err := s.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		// Checked again under the row lock: two confirms of one token race here.
		r, err := tx.ResetByHash(ctx, hash, true)
		if errors.Is(err, ErrNotFound) || (err == nil && !usable(r)) {
			return errBadResetToken
		}
		if err != nil {
			return err
		}
		if err := s.replacePassword(ctx, tx, a.ID, pwHash); err != nil {
			return err
		}
		if err := tx.ConsumeResets(ctx, a.ID, s.now()); err != nil {
			return err
		}
		return tx.ClearAccount(ctx, accountKey(a.Username))
	})
	if err != nil {
		return err
	}
	s.opts.Kick()
	s.revoked(ctx)
	s.log.InfoContext(ctx, "password reset completed; sessions revoked", "account_id", a.ID)
	return nil
}
