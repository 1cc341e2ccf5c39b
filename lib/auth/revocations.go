package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/consulwatch"
)

// Revocation ends a token's use before its expiry, at every service within
// a second or two. The user service publishes in Consul KV, under a prefix
// (DefaultRevocationPrefix):
//
//	users/<user id>     unix milliseconds T: the user's tokens issued at or before T are revoked
//	sessions/<sid>      unix milliseconds T: every token of that sign-in is revoked (revoked at T)
//	services/<name>     unix milliseconds T: the service's tokens issued at or before T are revoked
//
// Every verifier follows the prefix with Consul blocking queries
// (Revocations.Run) and holds the whole set in memory: the per-request
// check is two map lookups. Entries are useless once every token they
// could refuse has expired, and the user service deletes them then
// (RevocationPublisher.Prune). Consul is not their record: the user
// service keeps them in its database too, and writes back what Consul lost
// (a rebuilt cluster, a restarted dev agent), comparing with Published.

// DefaultRevocationPrefix is where revocations live in Consul KV: under
// the user service's own prefix, which the cluster's ACL policy
// (consul/acl/service.hcl) lets that service alone write and every service
// read; a prefix outside service/<name>/ would need a rule of its own.
const DefaultRevocationPrefix = "service/user/revocations/"

// ErrRevocationsUnavailable means the verifier has not yet heard from
// Consul which tokens are revoked, so it cannot accept any (answer 503).
var ErrRevocationsUnavailable = errors.New("token revocations not loaded yet")

// Revocations is the set of revoked tokens, kept in step with Consul KV.
//
// If Consul cannot be reached when a service starts, every token is refused
// with ErrRevocationsUnavailable until the first answer: the service cannot
// tell a logged-out or stolen token from a good one, and it could not find
// the services it calls either (discovery is Consul too), so failing closed
// costs little and leaks nothing. Once loaded, an outage keeps the last set
// (newer revocations wait for Consul to come back; the tokens still expire
// on time): dropping every signed-in request because Consul blinked would
// take the whole platform down with it.
type Revocations struct {
	kv     *consul.KV
	prefix string
	log    *slog.Logger

	set   atomic.Pointer[revocationSet]
	ready chan struct{}
	once  sync.Once

	// local holds what this process revoked itself, refused at once rather
	// than when Consul echoes it back; copied on write (rare), read on
	// every check.
	localMu sync.Mutex
	local   atomic.Pointer[revocationSet]
}

type revocationSet struct {
	users    map[int64]time.Time
	sessions map[string]time.Time
	services map[string]time.Time
}

// RevocationOptions configure NewRevocations.
type RevocationOptions struct {
	// Prefix is the KV prefix, ending in "/" (DefaultRevocationPrefix).
	Prefix string
	Logger *slog.Logger
}

// NewRevocations returns a watcher of the revocations in c's KV store;
// Run feeds it.
func NewRevocations(c *consul.Client, opts RevocationOptions) *Revocations {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRevocationPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Revocations{kv: c.KV(), prefix: opts.Prefix, log: opts.Logger, ready: make(chan struct{})}
}

// Ready is closed once the set has been loaded.
func (r *Revocations) Ready() <-chan struct{} { return r.ready }

// Check returns ErrRevoked (an ErrInvalidToken) when the token of id was
// revoked, ErrRevocationsUnavailable before the set was first loaded.
func (r *Revocations) Check(id Identity) error {
	set := r.set.Load()
	if set == nil {
		return ErrRevocationsUnavailable
	}
	if err := set.check(id); err != nil {
		return err
	}
	if local := r.local.Load(); local != nil {
		return local.check(id)
	}
	return nil
}

// RevokeUserHere makes this process refuse the user's tokens issued at or
// before before at once: the instance that revoked them does not wait for
// Consul to tell it (publish with RevocationPublisher all the same).
func (r *Revocations) RevokeUserHere(userID int64, before time.Time) {
	r.note(func(s *revocationSet) {
		if t, ok := s.users[userID]; !ok || t.Before(before) {
			s.users[userID] = before
		}
	})
}

// RevokeSessionHere is RevokeUserHere for one session.
func (r *Revocations) RevokeSessionHere(sid string, at time.Time) {
	r.note(func(s *revocationSet) { s.sessions[sid] = at })
}

// note adds to the local set, dropping what is older than a day (every
// token it refused has long expired, and Consul holds it if it matters).
func (r *Revocations) note(add func(*revocationSet)) {
	r.localMu.Lock()
	defer r.localMu.Unlock()
	next := newRevocationSet()
	old := time.Now().Add(-24 * time.Hour)
	if cur := r.local.Load(); cur != nil {
		for k, t := range cur.users {
			if t.After(old) {
				next.users[k] = t
			}
		}
		for k, t := range cur.sessions {
			if t.After(old) {
				next.sessions[k] = t
			}
		}
	}
	add(next)
	r.local.Store(next)
}

func newRevocationSet() *revocationSet {
	return &revocationSet{users: map[int64]time.Time{}, sessions: map[string]time.Time{}, services: map[string]time.Time{}}
}

func (set *revocationSet) check(id Identity) error {
	if id.UserID != 0 {
		if t, ok := set.users[id.UserID]; ok && !id.IssuedAt.After(t) {
			return ErrRevoked
		}
	}
	if id.SessionID != "" {
		if _, ok := set.sessions[id.SessionID]; ok {
			return ErrRevoked
		}
	}
	if id.Service != "" {
		if t, ok := set.services[id.Service]; ok && !id.IssuedAt.After(t) {
			return ErrRevoked
		}
	}
	return nil
}

// Run follows the prefix until ctx ends: each answer replaces the set.
func (r *Revocations) Run(ctx context.Context) {
	consulwatch.Follow(ctx, consulwatch.Options{What: "token revocations " + r.prefix, Wait: time.Minute, Logger: r.log},
		func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
			pairs, meta, err := r.kv.List(r.prefix, opts)
			if err != nil {
				return nil, err
			}
			r.set.Store(r.parse(pairs))
			r.once.Do(func() { close(r.ready) })
			return meta, nil
		})
}

func (r *Revocations) parse(pairs consul.KVPairs) *revocationSet {
	set := newRevocationSet()
	for _, p := range pairs {
		e, ok := parseEntry(r.prefix, p)
		if !ok {
			continue
		}
		switch e.Kind {
		case RevokedUsers:
			if id, err := strconv.ParseInt(e.Subject, 10, 64); err == nil {
				set.users[id] = e.At
			}
		case RevokedSessions:
			set.sessions[e.Subject] = e.At
		case RevokedServices:
			set.services[e.Subject] = e.At
		}
	}
	return set
}

// Kinds of revocation: the first segment of a key under the prefix.
const (
	RevokedUsers    = "users"
	RevokedSessions = "sessions"
	RevokedServices = "services"
)

// RevocationEntry is one revocation as Consul holds it.
type RevocationEntry struct {
	Kind    string // RevokedUsers, RevokedSessions or RevokedServices
	Subject string // the user id, session id or service name
	At      time.Time
}

// parseEntry reads the pair at prefix+kind/subject; ok is false for a key
// or value no verifier would act on.
func parseEntry(prefix string, p *consul.KVPair) (e RevocationEntry, ok bool) {
	kind, subject, ok := strings.Cut(strings.TrimPrefix(p.Key, prefix), "/")
	if !ok || subject == "" {
		return RevocationEntry{}, false
	}
	t, err := parseMillis(p.Value)
	if err != nil {
		return RevocationEntry{}, false
	}
	return RevocationEntry{Kind: kind, Subject: subject, At: t}, true
}

func parseMillis(v []byte) (time.Time, error) {
	ms, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, fmt.Errorf("bad revocation time %q", v)
	}
	return time.UnixMilli(ms), nil
}

// RevocationPublisher writes revocations (the user service).
type RevocationPublisher struct {
	kv     *consul.KV
	prefix string
}

// NewRevocationPublisher writes under prefix ("" is DefaultRevocationPrefix).
func NewRevocationPublisher(c *consul.Client, prefix string) *RevocationPublisher {
	if prefix == "" {
		prefix = DefaultRevocationPrefix
	}
	return &RevocationPublisher{kv: c.KV(), prefix: prefix}
}

var sessionIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// RevokeUser revokes the user's tokens issued at or before before.
func (p *RevocationPublisher) RevokeUser(ctx context.Context, userID int64, before time.Time) error {
	if userID <= 0 {
		return fmt.Errorf("revoke user %d: not a user id", userID)
	}
	return p.raise(ctx, p.prefix+RevokedUsers+"/"+strconv.FormatInt(userID, 10), before)
}

// RevokeSession revokes every token of the session sid.
func (p *RevocationPublisher) RevokeSession(ctx context.Context, sid string, at time.Time) error {
	if !sessionIDRe.MatchString(sid) {
		return fmt.Errorf("revoke session %q: not a session id", sid)
	}
	return p.raise(ctx, p.prefix+RevokedSessions+"/"+sid, at)
}

// RevokeService revokes the service's tokens issued at or before before
// (after its client secret leaked and was replaced).
func (p *RevocationPublisher) RevokeService(ctx context.Context, service string, before time.Time) error {
	if !sessionIDRe.MatchString(service) {
		return fmt.Errorf("revoke service %q: not a service name", service)
	}
	return p.raise(ctx, p.prefix+RevokedServices+"/"+service, before)
}

// raise sets key to t unless it already holds a later time. Two instances
// publishing at once (an older and a newer revocation of one user) end
// with the later time, whatever order they land in: check-and-set on the
// key's modify index.
func (p *RevocationPublisher) raise(ctx context.Context, key string, t time.Time) error {
	value := []byte(strconv.FormatInt(t.UnixMilli(), 10))
	opts := (&consul.QueryOptions{}).WithContext(ctx)
	wopts := (&consul.WriteOptions{}).WithContext(ctx)
	for range 10 {
		cur, _, err := p.kv.Get(key, opts)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		pair := &consul.KVPair{Key: key, Value: value}
		if cur != nil {
			if old, err := parseMillis(cur.Value); err == nil && !old.Before(t) {
				return nil
			}
			pair.ModifyIndex = cur.ModifyIndex
		}
		ok, _, err := p.kv.CAS(pair, wopts)
		if err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("write %s: lost the check-and-set race ten times", key)
}

// Published lists the revocations Consul holds now, as every verifier
// reads them (entries none would act on are left out). The user service
// compares them with its own record to restore what Consul lost.
func (p *RevocationPublisher) Published(ctx context.Context) ([]RevocationEntry, error) {
	pairs, _, err := p.kv.List(p.prefix, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	out := make([]RevocationEntry, 0, len(pairs))
	for _, pair := range pairs {
		if e, ok := parseEntry(p.prefix, pair); ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// Prune deletes the revocations made before olderThan (set it to now minus
// the longest token lifetime and the clock leeway: no token they could
// refuse is still valid). An entry raised meanwhile is kept (check-and-set).
func (p *RevocationPublisher) Prune(ctx context.Context, olderThan time.Time) (int, error) {
	pairs, _, err := p.kv.List(p.prefix, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("list revocations: %w", err)
	}
	wopts := (&consul.WriteOptions{}).WithContext(ctx)
	n := 0
	for _, pair := range pairs {
		t, err := parseMillis(pair.Value)
		if err == nil && !t.Before(olderThan) {
			continue
		}
		ok, _, err := p.kv.DeleteCAS(pair, wopts)
		if err != nil {
			return n, fmt.Errorf("delete %s: %w", pair.Key, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}
