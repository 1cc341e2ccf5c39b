package accounts_test

import (
	"context"
	"fmt"
	"strconv"
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
