package accounts_test

import (
	"strings"
	"testing"

	"hospital/svc/user/accounts"
)

// The password policy follows NIST SP 800-63B: length, not a known or
// guessable password, no repeats or sequences, no words from the account
// or the hospital. No composition rules.
func TestPasswordPolicy(t *testing.T) {
	attrs := []string{"nguyenvana", "van.a.nguyen@example.com", "Văn A", "Nguyễn"}
	refused := []string{
		"", "Ab1!xyz", // too short
		"hospital2024", "Hospital-2024!", "MyHospital#1", "benhvien2024", "Bệnh-Viện-99", // the hospital
		"aaaaaaaa", "        ", "zzzzzzzzzzzz", "abcabcabcabc", // repeated
		"abcdefgh", "12345678", "87654321", "qwertyuiop", // sequences
		"password123", "iloveyou1", "matkhau123", "Password1!", // common
		"nguyenvana1", "NguyenVanA-2024", "van.a.nguyen99", "xx-Nguyễn-2024", // the account
		"8472910365", // a number
		"Spring2026", "December1990",
		strings.Repeat("xy9", 60)[:150] + "-Q1", // long, but guessable from its start
	}
	for _, p := range refused {
		if len(accounts.PasswordProblems(p, attrs...)) == 0 {
			t.Errorf("%q accepted", p)
		}
	}
	accepted := []string{
		"Correct-Horse-42", "Blue-Lotus-2026", "correct horse battery staple",
		"long passphrases are easy to remember and hard to guess at once!",     // 64 characters
		"ťhe ŕiver flows 7 times", strings.Repeat("Ba-Na hills at dawn, ", 12), // up to 256
	}
	for _, p := range accepted {
		if problems := accounts.PasswordProblems(p, attrs...); len(problems) > 0 {
			t.Errorf("%q refused: %v", p, problems)
		}
	}
}

// BenchmarkPasswordProblems is the policy's cost per registration or change.
func BenchmarkPasswordProblems(b *testing.B) {
	for b.Loop() {
		accounts.PasswordProblems("Quiet-Lantern-Pass-7", "nguyenvana", "van.a.nguyen@example.com", "Văn A", "Nguyễn")
	}
}
