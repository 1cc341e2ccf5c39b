package user

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"unicode"

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

// PasswordProblems lists why password is unacceptable for a user with the
// given attributes (username, email, names), in Django's words; nil means
// it is fine. The rules: at least 8 characters, not entirely numeric, not a
// common password, not too similar to the user's own attributes.
func PasswordProblems(password string, attrs ...string) []string {
	var out []string
	if len([]rune(password)) < 8 {
		out = append(out, "This password is too short. It must contain at least 8 characters.")
	}
	if isNumeric(password) {
		out = append(out, "This password is entirely numeric.")
	}
	if commonPasswords[strings.ToLower(strings.TrimSpace(password))] {
		out = append(out, "This password is too common.")
	}
	if tooSimilar(password, attrs) {
		out = append(out, "The password is too similar to your account details.")
	}
	return out
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

const maxSimilarity = 0.7

var nonWord = regexp.MustCompile(`[^\p{L}\p{N}_]+`)

// tooSimilar follows Django's UserAttributeSimilarityValidator: the password
// is compared with each attribute and each of its word parts.
func tooSimilar(password string, attrs []string) bool {
	pw := strings.ToLower(password)
	for _, attr := range attrs {
		attr = strings.ToLower(strings.TrimSpace(attr))
		if attr == "" {
			continue
		}
		parts := append(nonWord.Split(attr, -1), attr)
		for _, part := range parts {
			if part == "" || exceedsLengthRatio(pw, part) {
				continue
			}
			if quickRatio(pw, part) >= maxSimilarity {
				return true
			}
		}
	}
	return false
}

// exceedsLengthRatio: a password ten times longer than the attribute cannot
// be similar to it (Django's shortcut).
func exceedsLengthRatio(pw, value string) bool {
	pl, vl := len([]rune(pw)), len([]rune(value))
	return pl >= 10*vl && float64(vl) < maxSimilarity/2*float64(pl)
}

// quickRatio is difflib's SequenceMatcher.quick_ratio: an upper bound on
// similarity from the characters the two strings share.
func quickRatio(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra)+len(rb) == 0 {
		return 1
	}
	avail := map[rune]int{}
	for _, r := range rb {
		avail[r]++
	}
	matches := 0
	for _, r := range ra {
		if avail[r] > 0 {
			avail[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(len(ra)+len(rb))
}

// commonPasswords are the most used passwords of public breach lists that
// pass the other rules (8+ characters, not all digits).
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(`
		password password1 password12 password123 password! passw0rd p@ssw0rd p@ssword
		qwertyui qwerty12 qwerty123 qwertyuiop qwerty1234 1q2w3e4r 1q2w3e4r5t zaq12wsx
		iloveyou iloveyou1 princess sunshine football baseball basketball superman
		trustno1 welcome1 welcome123 letmein1 abc12345 abcd1234 abcdefgh aa123456
		asdfghjk asdfasdf monkey12 dragon12 master12 starwars whatever computer
		michelle jennifer jordan23 charlie1 changeme administrator admin123 admin1234
		matkhau123 matkhau1 12345678a 123456789a a12345678 123qweasd qweasdzxc
		hospital hospital1 hospital123 doctor123 benhvien 11111111a 1234qwer
	`) {
		m[p] = true
	}
	return m
}()
