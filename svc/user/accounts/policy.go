package accounts

import (
	"regexp"
	"strings"
	"unicode"
)

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
