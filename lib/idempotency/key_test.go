package idempotency_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hospital/lib/idempotency"
	"hospital/lib/problem"
)

func TestKeyFromRefusesWhatCannotBeStored(t *testing.T) {
	cases := []struct {
		name, key string
		ok        bool
	}{
		{"absent", "", true},
		{"uuid", "3f1c9a2e-7b4d-4c1e-9a53-0c2f6d1e8b77", true},
		{"printable punctuation", "user-registered:42/a.b_c~!", true},
		{"200 characters", strings.Repeat("k", 200), true},
		{"201 characters", strings.Repeat("k", 201), false},
		{"not UTF-8", "key-\xff\xfe", false},
		{"UTF-8 beyond ASCII", "khóa-1", false},
		{"control character", "key\x01", false},
		{"tab", "key\tone", false},
		{"delete", "key\x7f", false},
		{"space inside", "key one", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", nil)
			if c.key != "" {
				r.Header[idempotency.Header] = []string{c.key}
			}
			got, err := idempotency.KeyFrom(r)
			if c.ok {
				if err != nil || got != c.key {
					t.Fatalf("KeyFrom(%q) = %q, %v; want the key back", c.key, got, err)
				}
				return
			}
			p, isProblem := problem.As(err)
			if !isProblem || p.Status != http.StatusBadRequest || len(p.Errors[idempotency.Header]) == 0 {
				t.Fatalf("KeyFrom(%q) = %q, %v; want a 400 naming the header", c.key, got, err)
			}
		})
	}
}
