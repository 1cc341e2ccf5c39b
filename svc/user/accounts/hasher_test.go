package accounts_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"hospital/lib/testkit"
	"hospital/svc/user/accounts"
)

// Argon2id keeps its strength (19 MiB a hash) but the memory all hashes
// together use is bounded: a burst of sign-ins queues for slots.
func TestHashingMemoryIsBounded(t *testing.T) {
	h := accounts.NewHasher(45 << 20) // room for two 19 MiB hashes
	if n := h.Slots(); n != 2 {
		t.Fatalf("%d slots in 45 MiB", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hash, err := h.Hash(context.Background(), "Correct-Horse-42")
			if err != nil {
				t.Error(err)
				return
			}
			if ok, _, err := h.Check(context.Background(), "Correct-Horse-42", hash); !ok || err != nil {
				t.Errorf("check: %v %v", ok, err)
			}
		}()
	}
	wg.Wait()
	if peak := h.Peak(); peak < 1 || peak > 2 {
		t.Fatalf("%d hashes ran at once, bound 2", peak)
	}
	if n := accounts.NewHasher(1 << 20).Slots(); n != 1 {
		t.Fatalf("a budget below one hash gives %d slots, want 1", n)
	}
	// A caller that gives up while queued is not served.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := accounts.NewHasher(0).Hash(ctx, "Correct-Horse-42"); err == nil {
		t.Fatal("a cancelled request was hashed")
	}
}

// BenchmarkHash is the cost of one password hash (argon2id, 19 MiB, t=2).
func BenchmarkHash(b *testing.B) {
	h := accounts.NewHasher(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "Correct-Horse-42"); err != nil {
			b.Fatal(err)
		}
	}
}

// A burst of sign-ins leaves tens of MiB of argon2 memory idle in the heap;
// once hashing stops, it goes back to the system within seconds rather than
// staying in the process's resident set.
func TestHashMemoryIsReturnedWhenIdle(t *testing.T) {
	h := accounts.NewHasher(0)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Hash(context.Background(), "Correct-Horse-42"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// What the heap holds from the system: live objects, garbage not yet
	// collected, and free spans not yet released.
	retained := func() uint64 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapSys - m.HeapReleased
	}
	before := retained()
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		if r := retained(); r > 16<<20 {
			return fmt.Errorf("the heap still holds %d MiB (%d MiB after the burst)", r>>20, before>>20)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
