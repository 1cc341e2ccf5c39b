package auth_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

// countingKeys counts signature checks: each one asks for the key.
type countingKeys struct {
	auth.KeySource
	n atomic.Int32
}

func (k *countingKeys) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k.n.Add(1)
	return k.KeySource.Key(ctx, kid)
}

func TestCacheVerifiesEachTokenOnce(t *testing.T) {
	s, _ := newSigner(t)
	keys := &countingKeys{KeySource: s.Keys()}
	clock := testkit.NewClock(time.Now())
	v := auth.NewVerifier(keys, auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(100), auth.WithClock(clock.Now))
	tok, err := s.Sign(auth.Identity{UserID: 9, Role: auth.RoleNurse, SessionID: "s1"}, time.Minute, "c1")
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		id, err := v.Verify(context.Background(), tok)
		if err != nil || id.UserID != 9 || id.SessionID != "s1" || id.Role != auth.RoleNurse {
			t.Fatalf("verify: %+v %v", id, err)
		}
	}
	if n := keys.n.Load(); n != 1 {
		t.Fatalf("%d signature checks for one token verified five times", n)
	}
	// A token differing in one byte of its signature is not the cached one.
	sig := strings.LastIndexByte(tok, '.') + 1
	flip := map[byte]byte{'A': 'B'}[tok[sig]]
	if flip == 0 {
		flip = 'A'
	}
	altered := tok[:sig] + string(flip) + tok[sig+1:]
	if _, err := v.Verify(context.Background(), altered); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("altered token: %v", err)
	}

	// Never past the token's expiry, leeway included: the cache does not
	// answer for it, and the full check refuses it.
	clock.Advance(time.Minute + 31*time.Second)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("expired token accepted: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	s, _ := newSigner(t)
	v := auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(64))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tok, _ := s.Sign(auth.Identity{UserID: int64(w*1000 + i + 1), Role: auth.RolePatient}, time.Hour, fmt.Sprint(w, i))
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := auth.CacheLen(v); n > 64 || n == 0 {
		t.Fatalf("cache holds %d tokens, bound 64", n)
	}
}

// BenchmarkVerifyCached is the per-request cost of a token seen before.
func BenchmarkVerifyCached(b *testing.B) {
	s, _ := newSigner(b)
	v := auth.NewVerifier(s.Keys(), auth.DefaultIssuer, auth.DefaultAudience, auth.WithCache(0))
	tok, err := s.Sign(auth.Identity{UserID: 42, Role: auth.RolePatient, Username: "lan"}, time.Hour, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
