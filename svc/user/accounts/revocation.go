package accounts

import (
	"context"
	"strconv"
	"time"
)

// Revocation: logout, a password change or reset, refresh-token reuse and
// deactivation end the affected tokens at every service within seconds.
// The revocation is recorded in the same transaction as the change (so a
// Consul outage delays it but never loses it), published right after the
// commit, and published again by RunRevocations until Consul took it.
//
// Its time is taken after the user's row is locked for the change, and
// tokens are issued while that row is share-locked (Login, Refresh): every
// token issued before the change is therefore stamped before the
// revocation, and every later one after it.

// revocationTime is when a revocation takes effect. It is compared with
// the tokens' iat, which the signer stamps from the real clock, so it is
// the real clock too (not the service's, which tests move).
func revocationTime() time.Time { return time.Now().UTC() }

func revokeUserIn(ctx context.Context, tx Store, userID int64) error {
	return tx.RecordRevocation(ctx, Revocation{Kind: RevokeUser, Subject: strconv.FormatInt(userID, 10), At: revocationTime()})
}

func revokeSessionIn(ctx context.Context, tx Store, sid string) error {
	if sid == "" {
		return nil
	}
	return tx.RecordRevocation(ctx, Revocation{Kind: RevokeSession, Subject: sid, At: revocationTime()})
}

// revoked publishes after a commit that recorded revocations. A failure is
// logged; RunRevocations tries again.
func (s *Service) revoked(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := s.PublishRevocations(ctx); err != nil {
		s.log.WarnContext(ctx, "token revocation not published yet; retrying in the background", "err", err.Error())
		select {
		case s.republish <- struct{}{}:
		default:
		}
	}
}

// PublishRevocations publishes every recorded revocation not published
// yet. This instance refuses them at once, Consul or not; the others learn
// them from Consul.
func (s *Service) PublishRevocations(ctx context.Context) error {
	if s.opts.Publisher == nil {
		return nil
	}
	for {
		pending, err := s.store.UnpublishedRevocations(ctx, 100)
		if err != nil || len(pending) == 0 {
			return err
		}
		for _, r := range pending {
			s.revokeHere(r)
			if err := s.publish(ctx, r); err != nil {
				return err
			}
			if err := s.store.MarkPublished(ctx, r, s.now()); err != nil {
				return err
			}
		}
		if len(pending) < 100 {
			return nil
		}
	}
}

func (s *Service) revokeHere(r Revocation) {
	if s.opts.Revocations == nil {
		return
	}
	if r.Kind == RevokeSession {
		s.opts.Revocations.RevokeSessionHere(r.Subject, r.At)
	} else if id, err := strconv.ParseInt(r.Subject, 10, 64); err == nil {
		s.opts.Revocations.RevokeUserHere(id, r.At)
	}
}

func (s *Service) publish(ctx context.Context, r Revocation) error {
	if r.Kind == RevokeSession {
		return s.opts.Publisher.RevokeSession(ctx, r.Subject, r.At)
	}
	id, err := strconv.ParseInt(r.Subject, 10, 64)
	if err != nil {
		return err
	}
	return s.opts.Publisher.RevokeUser(ctx, id, r.At)
}

// RunRevocations publishes what earlier attempts could not, every interval
// and when asked, until ctx ends.
func (s *Service) RunRevocations(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.republish:
		}
		if err := s.PublishRevocations(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "token revocations not published", "err", err.Error())
		}
	}
}

// PruneRevocations deletes revocations no token can need any more: every
// token they refuse has expired (the longest token life, plus the clock
// leeway verifiers allow, plus a margin). One instance does it at a time.
func (s *Service) PruneRevocations(ctx context.Context) error {
	if s.opts.Publisher == nil {
		return nil
	}
	cutoff := revocationTime().Add(-max(s.opts.AccessTTL, s.opts.ServiceTokenTTL) - time.Minute)
	_, err := s.store.WithLock(ctx, "user-revocations-prune", func(ctx context.Context) error {
		n, err := s.opts.Publisher.Prune(ctx, cutoff)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.InfoContext(ctx, "expired token revocations pruned", "count", n)
		}
		return s.store.DeleteRevocationsBefore(ctx, cutoff)
	})
	return err
}
