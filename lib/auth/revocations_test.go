package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

var sharedConsul = testkit.SharedOnce(testkit.StartConsul)

// following returns a verifier that follows the revocations under a prefix
// of its own in c, once it has loaded them.
func following(t *testing.T, c *consul.Client, s *auth.Signer, prefix string, log ...*slog.Logger) *auth.Verifier {
	t.Helper()
	opts := auth.RevocationOptions{Prefix: prefix}
	if len(log) > 0 {
		opts.Logger = log[0]
	}
	r := auth.NewRevocations(c, opts)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Run(ctx)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("revocations not loaded")
	}
	return auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(0), auth.WithRevocations(r))
}

// prefixFor is a KV prefix of the test's own, fresh on every run (the
// Consul agent is shared, and -count reruns a test by the same name).
func prefixFor(t *testing.T) string {
	return "test/" + t.Name() + "/" + strconv.FormatInt(time.Now().UnixNano(), 36) + "/"
}

// refused waits until v refuses tok as revoked.
func refused(t *testing.T, v *auth.Verifier, tok string) {
	t.Helper()
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, auth.ErrRevoked) {
			return fmt.Errorf("still accepted (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRevokedUserTokensAreRefusedEverywhere(t *testing.T) {
	c := sharedConsul(t)
	s, _ := newSigner(t)
	prefix := prefixFor(t)
	pub := auth.NewRevocationPublisher(c.Client, prefix)
	// Two services, each with its own verifier and cache.
	a, b := following(t, c.Client, s, prefix), following(t, c.Client, s, prefix)
	ctx := context.Background()

	sign := func(id auth.Identity) string {
		tok, err := s.Sign(id, 15*time.Minute, strconv.FormatInt(time.Now().UnixNano(), 10))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	doctor := sign(auth.Identity{UserID: 11, Role: auth.RoleDoctor, SessionID: "sess-a"})
	other := sign(auth.Identity{UserID: 12, Role: auth.RoleNurse, SessionID: "sess-b"})
	for _, v := range []*auth.Verifier{a, b} {
		if _, err := v.Verify(ctx, doctor); err != nil {
			t.Fatal(err) // and now it is cached
		}
	}

	revokedAt := time.Now()
	if err := pub.RevokeUser(ctx, 11, revokedAt); err != nil {
		t.Fatal(err)
	}
	refused(t, a, doctor)
	refused(t, b, doctor)
	if _, err := a.Verify(ctx, other); err != nil {
		t.Fatalf("another user's token refused: %v", err)
	}
	// A token issued after the revocation (the user signed in again) is good.
	// iat has millisecond precision: "after" is from the next millisecond on.
	for time.Now().UnixMilli() <= revokedAt.UnixMilli() {
		runtime.Gosched()
	}
	fresh := sign(auth.Identity{UserID: 11, Role: auth.RoleDoctor, SessionID: "sess-c"})
	if _, err := b.Verify(ctx, fresh); err != nil {
		t.Fatalf("token issued after the revocation refused: %v", err)
	}

	// One session: the others of the same user stay.
	if err := pub.RevokeSession(ctx, "sess-c", time.Now()); err != nil {
		t.Fatal(err)
	}
	refused(t, a, fresh)
	if _, err := a.Verify(ctx, other); err != nil {
		t.Fatalf("another session refused: %v", err)
	}

	// A service's tokens, after its secret leaked.
	svc := sign(auth.Identity{Role: auth.RoleService, Service: "billing"})
	if err := pub.RevokeService(ctx, "billing", time.Now()); err != nil {
		t.Fatal(err)
	}
	refused(t, b, svc)
	if err := pub.RevokeSession(ctx, "bad/../id", time.Now()); err == nil {
		t.Fatal("a session id that is not one was published")
	}
}

func TestRevocationKeepsTheLatestTimeAndIsPruned(t *testing.T) {
	c := sharedConsul(t)
	prefix := prefixFor(t)
	pub := auth.NewRevocationPublisher(c.Client, prefix)
	ctx := context.Background()
	later := time.Now().Truncate(time.Millisecond)
	earlier := later.Add(-time.Minute)

	// Two instances publish two revocations of one user, in any order.
	var wg sync.WaitGroup
	for _, at := range []time.Time{later, earlier, later.Add(-time.Second), earlier} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = pub.RevokeUser(ctx, 7, at) }()
	}
	wg.Wait()
	if err := pub.RevokeUser(ctx, 7, earlier); err != nil {
		t.Fatal(err)
	}
	pair, _, err := c.Client.KV().Get(prefix+"users/7", nil)
	if err != nil || pair == nil || string(pair.Value) != strconv.FormatInt(later.UnixMilli(), 10) {
		t.Fatalf("users/7 = %v (%v), want the later time", pair, err)
	}

	if err := pub.RevokeSession(ctx, "old-session", later.Add(-20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.KV().Put(&consul.KVPair{Key: prefix + "users/8", Value: []byte("garbage")}, nil); err != nil {
		t.Fatal(err)
	}
	// Published is what verifiers act on: the garbage is left out.
	got, err := pub.Published(ctx)
	want := []auth.RevocationEntry{
		{Kind: auth.RevokedSessions, Subject: "old-session", At: later.Add(-20 * time.Minute)},
		{Kind: auth.RevokedUsers, Subject: "7", At: later},
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("published %+v (%v), want %+v", got, err, want)
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].Subject != want[i].Subject || !got[i].At.Equal(want[i].At) {
			t.Errorf("published[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	n, err := pub.Prune(ctx, later.Add(-16*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want the old session and the garbage", n, err)
	}
	keys, _, err := c.Client.KV().Keys(prefix, "", nil)
	if err != nil || len(keys) != 1 || keys[0] != prefix+"users/7" {
		t.Fatalf("after pruning: %v %v", keys, err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proxy forwards TCP to target until closed: Consul going away and coming
// back, without stopping the shared agent.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			in.Close()
			out.Close()
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// cut closes the listener and every connection: Consul is unreachable.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

func TestRevocationsFailClosedUntilLoadedThenKeepTheLastSet(t *testing.T) {
	c := sharedConsul(t)
	s, _ := newSigner(t)
	prefix := prefixFor(t)
	ctx := context.Background()
	tok, _ := s.Sign(auth.Identity{UserID: 21, Role: auth.RolePatient}, time.Hour, "x")

	// Consul unreachable at start: no token is accepted, and the answer is
	// "cannot tell" (503), not "bad token" (401).
	dead, _ := consul.NewClient(&consul.Config{Address: "127.0.0.1:1"})
	r := auth.NewRevocations(dead, auth.RevocationOptions{Prefix: prefix})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(runCtx)
	v := auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithRevocations(r))
	_, err := v.Verify(ctx, tok)
	if !errors.Is(err, auth.ErrRevocationsUnavailable) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("before loading: %v", err)
	}

	// Loaded through a link that then goes down: the last set stays.
	p := newProxy(t, c.Addr)
	viaProxy, _ := consul.NewClient(&consul.Config{Address: p.ln.Addr().String()})
	pub := auth.NewRevocationPublisher(c.Client, prefix)
	revokedTok, _ := s.Sign(auth.Identity{UserID: 22, Role: auth.RolePatient}, time.Hour, "y")
	if err := pub.RevokeUser(ctx, 22, time.Now()); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	v2 := following(t, viaProxy, s, prefix, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, err := v2.Verify(ctx, revokedTok); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("a token issued before the revocation: %v", err)
	}
	p.cut()
	err = testkit.Until(ctx, 10*time.Second, nil, func(context.Context) error {
		if !strings.Contains(logs.String(), "keeping the last answer") {
			return errors.New("the watcher has not noticed the outage yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(ctx, tok); err != nil {
		t.Fatalf("consul away after loading: %v", err)
	}
	if _, err := v2.Verify(ctx, revokedTok); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("consul away: the known revocation is forgotten: %v", err)
	}
}

// The process that revokes refuses at once, before Consul echoes it back.
func TestRevokedHereIsRefusedAtOnce(t *testing.T) {
	c := sharedConsul(t)
	s, _ := newSigner(t)
	r := auth.NewRevocations(c.Client, auth.RevocationOptions{Prefix: prefixFor(t)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	<-r.Ready()
	v := auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(0), auth.WithRevocations(r))
	a, _ := s.Sign(auth.Identity{UserID: 31, Role: auth.RolePatient, SessionID: "here-1"}, time.Hour, "a")
	b, _ := s.Sign(auth.Identity{UserID: 32, Role: auth.RolePatient, SessionID: "here-2"}, time.Hour, "b")
	c2, _ := s.Sign(auth.Identity{UserID: 33, Role: auth.RolePatient, SessionID: "here-3"}, time.Hour, "c")
	r.RevokeUserHere(31, time.Now())
	r.RevokeSessionHere("here-2", time.Now())
	for _, tok := range []string{a, b} {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, auth.ErrRevoked) {
			t.Fatalf("revoked here, still accepted: %v", err)
		}
	}
	if _, err := v.Verify(ctx, c2); err != nil {
		t.Fatalf("another user refused: %v", err)
	}
}
