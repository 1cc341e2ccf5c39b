package accounts

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/alexedwards/argon2id"
)

// HashParams are the argon2id parameters for new hashes (OWASP's minimum
// recommendation: 19 MiB, 2 iterations, 1 lane). Stored hashes carry their own
// parameters, and a login with older parameters rehashes.
var HashParams = &argon2id.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Hasher hashes and checks passwords. Each hash takes 19 MiB, so the number
// running at once is bounded: a login flood queues instead of exhausting
// memory.
type Hasher struct {
	slots chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a hasher running at most 2×GOMAXPROCS hashes at once.
func NewHasher() *Hasher {
	return &Hasher{slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

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
