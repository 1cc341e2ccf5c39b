package auth_test

import (
	"context"
	"testing"
	"time"

	"hospital/lib/auth"
)

// BenchmarkVerify is the per-request cost of token checking at the gateway
// and in every service (JWKS already cached).
func BenchmarkVerify(b *testing.B) {
	s, _ := newSigner(b)
	v := verifier(s)
	tok, err := s.Sign(auth.Identity{UserID: 42, Role: auth.RolePatient, Username: "lan"}, time.Hour, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s, _ := newSigner(b)
	id := auth.Identity{UserID: 42, Role: auth.RolePatient, Username: "lan"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(id, time.Hour, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
