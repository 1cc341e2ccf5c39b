package accounts

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/text/unicode/norm"
)

// The password policy follows NIST SP 800-63B: at least 8 characters, up
// to 256 (the request limit); no composition rules; refused when it is a
// known or easily guessed password, repeats or runs through characters, or
// contains words from the account or the hospital. Guessability is
// zxcvbn's estimate, given those words too: at least "safely unguessable"
// (score 3, about 10^8 guesses or more).
const minScore = 3

// hospitalWords are context words of the service itself (NIST: "the name
// of the service"), compared without accents or punctuation.
var hospitalWords = []string{"hospital", "benhvien"}

// PasswordProblems lists why password is unacceptable for a user with the
// given attributes (username, email, names); nil means it is fine.
func PasswordProblems(password string, attrs ...string) []string {
	n := utf8.RuneCountInString(password)
	if n < 8 {
		return []string{"This password is too short. It must contain at least 8 characters."}
	}
	var out []string
	switch {
	case repeats(password):
		out = append(out, "This password repeats the same few characters.")
	case sequence(password):
		out = append(out, "This password is a run of consecutive characters.")
	case isNumeric(password):
		out = append(out, "This password is entirely numeric.")
	}
	if commonPasswords[strings.ToLower(strings.TrimSpace(password))] {
		out = append(out, "This password is too common.")
	}
	words := contextWords(attrs)
	if w := containsAny(fold(password), words); w != "" {
		out = append(out, "This password contains your name, username, email or the hospital's name.")
	}
	if len(out) == 0 && !strongEnough(password, words) {
		out = append(out, "This password is too easy to guess. Avoid common words, names, dates and patterns, or make it longer: a few unrelated words work well.")
	}
	return out
}

// strongEnough asks zxcvbn about the first 64 characters: its cost grows
// with length, and 64 guessable characters do not become strong by what
// follows them.
func strongEnough(password string, words []string) bool {
	if r := []rune(password); len(r) > 64 {
		password = string(r[:64])
	}
	return zxcvbn.PasswordStrength(password, words).Score >= minScore
}

// repeats: the whole password is one unit of 1 to 4 characters repeated
// ("aaaaaaaa", eight spaces, "abcabcabc").
func repeats(p string) bool {
	r := []rune(p)
	for k := 1; k <= 4 && k <= len(r)/2; k++ {
		if len(r)%k != 0 {
			continue
		}
		same := true
		for i := k; i < len(r) && same; i++ {
			same = r[i] == r[i-k]
		}
		if same {
			return true
		}
	}
	return false
}

// sequence: the whole password steps by +1 or -1 ("abcdefgh", "87654321").
func sequence(p string) bool {
	r := []rune(strings.ToLower(p))
	step := r[1] - r[0]
	if step != 1 && step != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if r[i]-r[i-1] != step {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// fold lower-cases s and keeps only its letters and digits, without
// accents: "Bệnh-Viện" is "benhvien".
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case r == 'đ':
			b.WriteRune('d')
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// contextWords are the folded words a password must not contain: the
// hospital's, and the account's (username, names, the email's local part
// and its pieces) of at least 4 characters.
func contextWords(attrs []string) []string {
	words := append([]string(nil), hospitalWords...)
	add := func(s string) {
		if f := fold(s); utf8.RuneCountInString(f) >= 4 {
			words = append(words, f)
		}
	}
	for _, a := range attrs {
		if local, _, ok := strings.Cut(a, "@"); ok {
			a = local
		}
		add(a)
		for _, part := range strings.FieldsFunc(a, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			add(part)
		}
	}
	return words
}

func containsAny(s string, words []string) string {
	for _, w := range words {
		if strings.Contains(s, w) {
			return w
		}
	}
	return ""
}

// commonPasswords are common passwords zxcvbn's English lists miss, most
// of them Vietnamese ("matkhau" is "password").
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(`
		matkhau matkhau1 matkhau12 matkhau123 matkhau1234 matkhau@123 anhyeuem anhyeuem1 anhyeuem123
		emyeuanh emyeuanh1 iloveyou1 123456789a 12345678a a12345678 123qweasd qweasdzxc 1234qwer
		vietnam vietnam1 vietnam123 saigon123 hanoi123 hochiminh admin123 admin1234 administrator
	`) {
		m[p] = true
	}
	return m
}()
