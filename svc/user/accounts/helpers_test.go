package accounts_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"os"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/testkit"
	"hospital/svc/user/accounts"
	"hospital/svc/user/store"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// fixture is the domain over a fresh database, publishing revocations to a
// real Consul under a prefix of its own; no HTTP.
type fixture struct {
	db      *sql.DB
	store   *store.Store
	signer  *auth.Signer
	svc     *accounts.Service
	consul  *testkit.Consul
	prefix  string
	adminID int64
}

func newFixture(t *testing.T, opts ...func(*accounts.Options)) *fixture {
	t.Helper()
	db, _ := testkit.NewMySQL(t, store.Migrate)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, store: store.New(db), signer: auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience),
		consul: sharedConsul(t), prefix: prefixOf(t)}
	o := accounts.Options{Signer: f.signer, PublicBaseURL: "https://hospital.example",
		Publisher: auth.NewRevocationPublisher(f.consul.Client, f.prefix)}
	for _, fn := range opts {
		fn(&o)
	}
	f.svc = accounts.New(f.store, o)
	if _, err := f.svc.Bootstrap(context.Background(), "fixture.admin", "Quiet-Lantern-Pass-7", "admin@hospital.example"); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT id FROM users WHERE username = 'fixture.admin'`).Scan(&f.adminID); err != nil {
		t.Fatal(err)
	}
	return f
}

// asAdmin is ctx as the fixture's ADMIN calling.
func (f *fixture) asAdmin(ctx context.Context) context.Context {
	return auth.WithIdentity(ctx, auth.Identity{UserID: f.adminID, Role: auth.RoleAdmin})
}

const password = "Correct-Horse-42"

func (f *fixture) patient(t *testing.T, username string) accounts.User {
	t.Helper()
	u, err := f.svc.Register(context.Background(), accounts.RegisterRequest{
		Username: username, Password: password, Email: username + "@example.com",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}
