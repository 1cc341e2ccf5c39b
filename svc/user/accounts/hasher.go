package accounts

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
)

// HashParams are the argon2id parameters for new hashes (OWASP's minimum
// recommendation: 19 MiB, 2 iterations, 1 lane). Stored hashes carry their own
// parameters, and a login with older parameters rehashes.
var HashParams = &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// hashBytes is what one hash allocates: argon2's memory, plus a little.
var hashBytes = int64(HashParams.Memory)*1024 + 1<<20

// Hasher hashes and checks passwords. Argon2id's strength is its memory (19
// MiB a hash), so the hashes running at once are bounded by a memory
// budget: a burst of sign-ins queues for a slot (until its request gives
// up) instead of growing the process by 19 MiB per request.
type Hasher struct {
	slots chan struct{}

	running, peak atomic.Int32

	dummyOnce sync.Once
	dummy     string

	// After a burst of hashes the heap is tens of MiB larger, and the
	// runtime hands idle memory back to the system only over minutes:
	// once no hash has run for giveBackAfter, giveBack returns it at once.
	giveBackMu    sync.Mutex
	giveBackTimer *time.Timer
	giveBack      func()
}

// giveBackAfter is how long without a hash before its memory is returned.
const giveBackAfter = 2 * time.Second

// DefaultHashMemory is the budget when none is configured and no
// GOMEMLIMIT is set: three hashes at once.
const DefaultHashMemory = 64 << 20

// NewHasher returns a hasher whose hashes together use at most budget
// bytes (at least one hash runs). budget 0 means half of GOMEMLIMIT when
// one is set, else DefaultHashMemory. It never runs more hashes at once
// than twice the CPUs it may use: they are CPU-bound too.
func NewHasher(budget int64) *Hasher {
	if budget <= 0 {
		budget = DefaultHashMemory
		if limit := debug.SetMemoryLimit(-1); limit < math.MaxInt64 {
			budget = limit / 2
		}
	}
	n := min(max(1, budget/hashBytes), int64(2*runtime.GOMAXPROCS(0)))
	return &Hasher{slots: make(chan struct{}, n), giveBack: debug.FreeOSMemory}
}

// Slots is how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// Peak is the most hashes that ran at once so far.
func (h *Hasher) Peak() int { return int(h.peak.Load()) }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if ctx.Err() != nil { // both were ready: a caller that gave up is not served
		<-h.slots
		return ctx.Err()
	}
	n := h.running.Add(1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	return nil
}

func (h *Hasher) release() {
	if h.running.Add(-1) == 0 {
		h.scheduleGiveBack()
	}
	<-h.slots
}

// scheduleGiveBack (re)starts the quiet period after which the hashes'
// memory is returned; a hash starting meanwhile only delays it.
func (h *Hasher) scheduleGiveBack() {
	h.giveBackMu.Lock()
	defer h.giveBackMu.Unlock()
	if h.giveBackTimer != nil {
		h.giveBackTimer.Reset(giveBackAfter)
		return
	}
	h.giveBackTimer = time.AfterFunc(giveBackAfter, func() {
		if h.running.Load() == 0 {
			h.giveBack()
		}
	})
}

// Hash returns the PHC string for password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	hash, err := argon2id.CreateHash(password, HashParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// Check reports whether password matches hash, and whether the hash should
// be replaced because its parameters are outdated. An empty hash (unknown
// user) is checked against a dummy so both cases take the same time.
func (h *Hasher) Check(ctx context.Context, password, hash string) (ok, rehash bool, err error) {
	if hash == "" {
		h.dummyOnce.Do(func() { h.dummy, _ = argon2id.CreateHash("not a password of anyone", HashParams) })
		hash = h.dummy
		defer func() { ok, rehash = false, false }()
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	match, params, err := argon2id.CheckHash(password, hash)
	if err != nil {
		return false, false, fmt.Errorf("check password: %w", err)
	}
	return match, match && *params != *HashParams, nil
}
