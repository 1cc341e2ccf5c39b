package accounts

import (
	"context"
	"errors"
	"time"

	"hospital/lib/apperr"
)

// Email addresses are confirmed by a link: the one sent after registration
// marks the address verified; a new address (PUT me) becomes the account's
// only when its link is followed, and the old address is told.

const (
	verifyTTL = 7 * 24 * time.Hour
	changeTTL = 24 * time.Hour
)

var errBadEmailToken = apperr.Field("token", "The confirmation link is invalid, used or expired.")

// newEmailToken records a link for address and returns its id and raw token.
func (s *Service) newEmailToken(ctx context.Context, tx Store, userID int64, address, purpose string) (int64, string, error) {
	raw := randomToken()
	now := s.now()
	ttl := verifyTTL
	if purpose == EmailChange {
		ttl = changeTTL
	}
	tid, err := tx.InsertEmailToken(ctx, EmailToken{
		Hash: tokenHash(raw), UserID: userID, Email: address, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(ttl),
	})
	return tid, raw, err
}

// ConfirmEmail follows a confirmation link: the address is verified, or
// becomes the account's address (and the old one is told).
func (s *Service) ConfirmEmail(ctx context.Context, raw string) (EmailConfirmed, error) {
	var (
		out EmailConfirmed
		id  int64
	)
	err := s.store.InTx(ctx, func(tx Store) error {
		t, err := tx.EmailTokenByHashForUpdate(ctx, tokenHash(raw))
		if errors.Is(err, ErrNotFound) {
			return errBadEmailToken
		}
		if err != nil {
			return err
		}
		if t.Used || !s.now().Before(t.ExpiresAt) {
			return errBadEmailToken
		}
		a, err := tx.UserByIDForUpdate(ctx, t.UserID)
		if err != nil {
			return err
		}
		if !a.IsActive {
			return errBadEmailToken
		}
		switch {
		case t.Purpose == EmailVerify && a.Email == t.Email:
			a.EmailVerified = true
			out.Detail = "Your email address is confirmed."
		case t.Purpose == EmailChange && a.PendingEmail != nil && *a.PendingEmail == t.Email:
			old := a.Email
			a.Email, a.EmailVerified, a.PendingEmail = t.Email, true, nil
			if err := tx.Enqueue(ctx, s.emailChangedMessage(a.User, old, t.ID)); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, auditEvent(ctx, "user.email.change", a.User)); err != nil {
				return err
			}
			out.Detail = "Your email address is changed."
		default:
			// The address changed since, or a later change replaced this one.
			return errBadEmailToken
		}
		if err := tx.UseEmailToken(ctx, t.ID, s.now()); err != nil {
			return err
		}
		if err := tx.UpdateProfile(ctx, a); err != nil {
			return asTaken(err)
		}
		out.Email, id = a.Email, a.ID
		return nil
	})
	if err != nil {
		return EmailConfirmed{}, err
	}
	s.opts.Kick()
	s.log.InfoContext(ctx, "email address confirmed", "account_id", id)
	return out, nil
}

// requestEmailChange records address as pending and sends its link (in tx,
// with a's row locked).
func (s *Service) requestEmailChange(ctx context.Context, tx Store, a *Account, address string) error {
	tid, raw, err := s.newEmailToken(ctx, tx, a.ID, address, EmailChange)
	if err != nil {
		return err
	}
	a.PendingEmail = &address
	return tx.Enqueue(ctx, s.emailChangeRequestedMessage(a.User, address, tid, raw))
}
