package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/auth"
	"hospital/lib/testkit"
	"hospital/svc/user/accounts"
)

// A revocation made while Consul is unreachable is kept, and published once
// it is back; old ones are pruned from Consul and the table.
func TestRevocationsSurviveAConsulOutage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	patient := f.patient(t, "outage.patient")

	dead, _ := consul.NewClient(&consul.Config{Address: "127.0.0.1:1"})
	cut := accounts.New(f.store, accounts.Options{Signer: f.signer, Publisher: auth.NewRevocationPublisher(dead, f.prefix)})
	if _, err := cut.SetActive(f.asAdmin(ctx), patient.ID, false); err != nil {
		t.Fatalf("deactivation failed because consul is away: %v", err)
	}
	pending, err := f.store.UnpublishedRevocations(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].Kind != accounts.RevokeUser || pending[0].Subject != strconv.FormatInt(patient.ID, 10) {
		t.Fatalf("pending revocations %+v, %v", pending, err)
	}

	key := f.prefix + "users/" + strconv.FormatInt(patient.ID, 10)
	if err := f.svc.PublishRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	pair, _, err := f.consul.Client.KV().Get(key, nil)
	if err != nil || pair == nil || string(pair.Value) != strconv.FormatInt(pending[0].At.UnixMilli(), 10) {
		t.Fatalf("%s = %v (%v)", key, pair, err)
	}
	if pending, _ = f.store.UnpublishedRevocations(ctx, 10); len(pending) != 0 {
		t.Fatalf("still pending after publishing: %+v", pending)
	}

	// An old revocation (every token it refused has expired) is pruned.
	old := accounts.Revocation{Kind: accounts.RevokeSession, Subject: "old-session", At: time.Now().Add(-20 * time.Minute).Truncate(time.Millisecond)}
	if err := f.store.RecordRevocation(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PublishRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PruneRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _, err := f.consul.Client.KV().Keys(f.prefix, "", nil)
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Fatalf("keys after pruning %v (%v), want only %s", keys, err, key)
	}
	var rows int
	if err := f.db.QueryRow(`SELECT COUNT(*) FROM token_revocations`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d revocation rows after pruning (%v), want 1", rows, err)
	}
}

var sharedConsul = testkit.SharedOnce(testkit.StartConsul)

func prefixOf(t *testing.T) string {
	return fmt.Sprintf("test/%s-%d/", t.Name(), time.Now().UnixNano())
}

// Consul losing its data (a rebuilt cluster, a dev agent restarted) must not
// let revoked tokens back in: the resync writes back, from the database,
// every revocation that can still refuse a live token, and says so once.
func TestRevocationsLostByConsulAreRestored(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newFixture(t, func(o *accounts.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	ctx := context.Background()
	f.patient(t, "resync.patient")
	pair, err := f.svc.Login(ctx, accounts.LoginRequest{Username: "resync.patient", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.svc.Verifier().Verify(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// Another service: it knows only what Consul tells it.
	peer := peerVerifier(t, f)
	if _, err := peer.Verify(ctx, pair.AccessToken); err != nil {
		t.Fatalf("before the logout: %v", err)
	}
	if err := f.svc.Logout(auth.WithIdentity(ctx, id), ""); err != nil {
		t.Fatal(err)
	}
	waitVerify(t, peer, pair.AccessToken, true)
	key := f.prefix + accounts.RevokeSession + "/" + id.SessionID
	published, _, err := f.consul.Client.KV().Get(key, nil)
	if err != nil || published == nil {
		t.Fatalf("%s after the logout: %v (%v)", key, published, err)
	}
	// A revocation older than any live token: Consul may lose it for good.
	old := accounts.Revocation{Kind: accounts.RevokeUser, Subject: "999", At: time.Now().Add(-20 * time.Minute).Truncate(time.Millisecond)}
	if err := f.store.RecordRevocation(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PublishRevocations(ctx); err != nil {
		t.Fatal(err)
	}

	// Consul loses its data, and the logged-out token works again.
	if _, err := f.consul.Client.KV().DeleteTree(f.prefix, nil); err != nil {
		t.Fatal(err)
	}
	waitVerify(t, peer, pair.AccessToken, false)

	n, err := f.svc.ResyncRevocations(ctx)
	if err != nil || n != 1 {
		t.Fatalf("resync restored %d (%v), want the logout only", n, err)
	}
	waitVerify(t, peer, pair.AccessToken, true)
	restored, _, err := f.consul.Client.KV().Get(key, nil)
	if err != nil || restored == nil || string(restored.Value) != string(published.Value) {
		t.Fatalf("%s restored as %v (%v), want %s", key, restored, err, published.Value)
	}
	keys, _, err := f.consul.Client.KV().Keys(f.prefix, "", nil)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after the resync %v (%v), want only %s", keys, err, key)
	}
	if got := strings.Count(logs.String(), "token revocations restored"); got != 1 {
		t.Fatalf("%d log lines about the restore, want 1:\n%s", got, logs.String())
	}

	// Up to date: nothing is written again, nothing logged.
	if n, err := f.svc.ResyncRevocations(ctx); err != nil || n != 0 {
		t.Fatalf("second resync restored %d (%v), want 0", n, err)
	}
	if again, _, err := f.consul.Client.KV().Get(key, nil); err != nil || again == nil || again.ModifyIndex != restored.ModifyIndex {
		t.Fatalf("%s rewritten though up to date: %v (%v)", key, again, err)
	}
	if got := strings.Count(logs.String(), "token revocations restored"); got != 1 {
		t.Fatalf("%d log lines about the restore after a resync with nothing to do, want 1", got)
	}

	// Consul holding an older time (a snapshot taken before this
	// revocation) is raised to the recorded one.
	earlier := []byte(strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10))
	if _, err := f.consul.Client.KV().Put(&consul.KVPair{Key: key, Value: earlier}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.ResyncRevocations(ctx); err != nil || n != 1 {
		t.Fatalf("resync over an older time restored %d (%v), want 1", n, err)
	}
	if raised, _, err := f.consul.Client.KV().Get(key, nil); err != nil || raised == nil || string(raised.Value) != string(published.Value) {
		t.Fatalf("%s = %v (%v), want %s", key, raised, err, published.Value)
	}
}

// peerVerifier is another service's token check: f's public keys and the
// revocations under f's prefix, nothing this process revoked itself.
func peerVerifier(t *testing.T, f *fixture) *auth.Verifier {
	t.Helper()
	r := auth.NewRevocations(f.consul.Client, auth.RevocationOptions{Prefix: f.prefix})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Run(ctx)
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("revocations not loaded")
	}
	return auth.NewVerifier(f.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(0), auth.WithRevocations(r))
}

// waitVerify waits until v refuses tok as revoked (revoked true) or
// accepts it (false).
func waitVerify(t *testing.T, v *auth.Verifier, tok string, revoked bool) {
	t.Helper()
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
		_, err := v.Verify(ctx, tok)
		switch {
		case revoked && !errors.Is(err, auth.ErrRevoked):
			return fmt.Errorf("still accepted (%v)", err)
		case !revoked && err != nil:
			return fmt.Errorf("still refused: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
