package accounts

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Revocation: logout, a password change or reset, refresh-token reuse and
// deactivation end the affected tokens at every service within seconds.
// The revocation is recorded in the same transaction as the change (so a
// Consul outage delays it but never loses it), published right after the
// commit, and published again by RunRevocations until Consul took it.
// The database stays their record: ResyncRevocations writes back what
// Consul loses while a token it revoked can still be live.
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

// revocationHorizon is when the oldest revocation that may still refuse a
// live token was made: before it, every token a revocation could refuse
// has expired (the longest token life, plus the clock leeway verifiers
// allow, plus a margin). Refresh tokens are not in it: their revocation is
// checked in the database.
func (s *Service) revocationHorizon() time.Time {
	return revocationTime().Add(-max(s.opts.AccessTTL, s.opts.ServiceTokenTTL) - time.Minute)
}

// ResyncRevocations writes back to Consul the published revocations that
// may still refuse a live token and that Consul lost or holds with an
// older time: Consul is not their record (a rebuilt cluster or a restarted
// dev agent starts empty), and without this the tokens they revoked would
// be accepted again until they expire. It returns how many it restored and
// logs them once. Writes only raise a time, so instances running it at
// once, or next to PublishRevocations, do no harm.
func (s *Service) ResyncRevocations(ctx context.Context) (int, error) {
	if s.opts.Publisher == nil {
		return 0, nil
	}
	// The database first: a revocation published between the two reads is
	// then found in Consul, not restored (and logged) for nothing.
	since := s.revocationHorizon()
	recorded, err := s.store.PublishedRevocationsSince(ctx, since)
	if err != nil || len(recorded) == 0 {
		return 0, err
	}
	published, err := s.opts.Publisher.Published(ctx)
	if err != nil {
		return 0, fmt.Errorf("resync revocations: %w", err)
	}
	// Consul keeps milliseconds, and so does the database.
	have := make(map[[2]string]int64, len(published))
	for _, e := range published {
		have[[2]string{e.Kind, e.Subject}] = e.At.UnixMilli()
	}
	restored := 0
	for _, r := range recorded {
		if at, ok := have[[2]string{r.Kind, r.Subject}]; ok && at >= r.At.UnixMilli() {
			continue
		}
		if err = s.publish(ctx, r); err != nil {
			err = fmt.Errorf("restore revocation %s/%s: %w", r.Kind, r.Subject, err)
			break
		}
		restored++
	}
	if restored > 0 {
		s.log.WarnContext(ctx, "token revocations restored to consul, which had lost them",
			"count", restored, "revoked_since", since.Format(time.RFC3339))
	}
	return restored, err
}

// PruneRevocations deletes revocations no token can need any more (older
// than revocationHorizon). One instance does it at a time.
func (s *Service) PruneRevocations(ctx context.Context) error {
	if s.opts.Publisher == nil {
		return nil
	}
	cutoff := s.revocationHorizon()
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
