package accounts

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"hospital/lib/logging"
)

// Throttle limits password guessing without letting anyone lock an owner
// out. Every attempt is counted as a failure before the password is
// checked (so parallel guesses cannot exceed a limit) and forgiven when it
// succeeds. Three counters:
//
//   - one client on one account: after PairMaxFailures that client may not
//     try that account for Lock. The owner, elsewhere, is not affected.
//   - one client on any account: after ClientMaxFailures (password
//     spraying) that client may not sign in at all for Lock.
//   - one account from anywhere: from AccountDelayAfter failures on (more
//     than one client can cause), each attempt must wait a delay that
//     doubles from one second up to AccountDelayMax after the last failure:
//     a distributed guess is slowed to a crawl, the owner waits at most
//     AccountDelayMax. The owner is told by email when it starts; an ADMIN
//     can clear it (Unlock).
//
// A counter starts over after Lock without failures. The client is the
// address the gateway saw (X-Client-IP) or, called directly, the peer's;
// IPv6 addresses count per /64, which one host usually holds whole.
type Throttle struct {
	PairMaxFailures   int
	ClientMaxFailures int
	AccountDelayAfter int
	AccountDelayMax   time.Duration
	Lock              time.Duration
}

// DefaultThrottle: 5 per client and account, 50 per client, delays from
// the 10th failure on an account up to 5 minutes, 15-minute locks.
var DefaultThrottle = Throttle{
	PairMaxFailures: 5, ClientMaxFailures: 50, AccountDelayAfter: 10,
	AccountDelayMax: 5 * time.Minute, Lock: 15 * time.Minute,
}

// clientKey groups the caller's address: IPv6 by /64.
func clientKey(ctx context.Context) string {
	ip := logging.ClientIP(ctx)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		if ip == "" {
			return "unknown"
		}
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// attempt is one counted sign-in attempt.
type attempt struct {
	account, client string
	// engaged: this attempt started the account's delays (tell the owner).
	engaged bool
}

// begin counts an attempt on account from the caller's client, or refuses
// it with a 429 and how long to wait.
func (s *Service) begin(ctx context.Context, account string) (attempt, error) {
	at := attempt{account: account, client: clientKey(ctx)}
	th := s.opts.Throttle
	var wait time.Duration
	err := s.store.InTx(ctx, func(tx Store) error {
		now := s.now()
		// Always in this order, so two attempts cannot deadlock.
		keys := []CounterKey{
			{Scope: ScopeAccount, Account: account},
			{Scope: ScopePair, Account: account, Client: at.client},
			{Scope: ScopeClient, Client: at.client},
		}
		cs := make([]Counter, len(keys))
		for i, k := range keys {
			c, err := tx.LockCounter(ctx, k)
			if err != nil {
				return err
			}
			if !c.LastFailure.IsZero() && now.Sub(c.LastFailure) >= th.Lock && !now.Before(c.BlockedUntil) {
				c.Failures, c.BlockedUntil = 0, time.Time{} // quiet long enough: start over
			}
			cs[i] = c
		}
		acct, pair, client := &cs[0], &cs[1], &cs[2]
		for _, c := range []*Counter{pair, client} {
			if now.Before(c.BlockedUntil) {
				wait = max(wait, c.BlockedUntil.Sub(now))
			}
		}
		if n := acct.Failures - th.AccountDelayAfter; n >= 0 {
			if until := acct.LastFailure.Add(accountDelay(n, th.AccountDelayMax)); now.Before(until) {
				wait = max(wait, until.Sub(now))
			}
		}
		if wait > 0 {
			return nil
		}
		for i := range cs {
			cs[i].Failures++
			cs[i].LastFailure = now
		}
		if pair.Failures >= th.PairMaxFailures {
			pair.BlockedUntil = now.Add(th.Lock)
		}
		if client.Failures >= th.ClientMaxFailures {
			client.BlockedUntil = now.Add(th.Lock)
		}
		at.engaged = acct.Failures == th.AccountDelayAfter
		for _, c := range cs {
			if err := tx.SaveCounter(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return at, err
	}
	if wait > 0 {
		s.log.InfoContext(ctx, "sign-in refused: too many failures", "retry_after", wait.Round(time.Second).String())
		return at, lockedError(wait.Round(time.Second) + time.Second)
	}
	return at, nil
}

// accountDelay is the wait before the n-th attempt past the threshold:
// 1 s, 2 s, 4 s, ... up to most.
func accountDelay(n int, most time.Duration) time.Duration {
	if n >= 30 {
		return most
	}
	return min(time.Second<<n, most)
}

// succeeded forgives the attempt: the account and this client on it start
// over; the client's own count drops by the attempt.
func (s *Service) succeeded(ctx context.Context, at attempt) error {
	return s.store.InTx(ctx, func(tx Store) error {
		for _, k := range []CounterKey{{Scope: ScopeAccount, Account: at.account}, {Scope: ScopePair, Account: at.account, Client: at.client}} {
			if err := tx.SaveCounter(ctx, Counter{Key: k}); err != nil {
				return err
			}
		}
		c, err := tx.LockCounter(ctx, CounterKey{Scope: ScopeClient, Client: at.client})
		if err != nil {
			return err
		}
		if c.Failures > 0 {
			c.Failures--
		}
		return tx.SaveCounter(ctx, c)
	})
}

// accountKey is how an account is counted: its case-folded username.
func accountKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }
