package accounts_test

import (
	"strings"
	"testing"
	"time"

	"hospital/lib/config"
	"hospital/svc/user/accounts"
)

// The resync of lost revocations must come round while the tokens they
// refuse are still live, or it restores nothing that matters.
func TestConfigRefusesARevocationResyncAsSlowAsTheTokens(t *testing.T) {
	t.Setenv("MYSQL_DSN", "user:pw@tcp(127.0.0.1:3306)/user")
	cfg, err := config.Load[accounts.Config]()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RevocationResyncInterval != 30*time.Second {
		t.Fatalf("default resync interval %s, want 30s", cfg.RevocationResyncInterval)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	for _, d := range []time.Duration{0, 500 * time.Millisecond, cfg.AccessTokenTTL, time.Hour} {
		cfg.RevocationResyncInterval = d
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "REVOCATION_RESYNC_INTERVAL") {
			t.Errorf("resync every %s: %v", d, err)
		}
	}
}
