package testkit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Shared wraps the t of the test that happens to start something every test
// of the binary then uses (a user service, say): its cleanups and temporary
// directories last until Main ends, where they run in reverse order together
// with the shared MariaDB and FerretDB. Only the starting test may fail it.
func Shared(t testing.TB) testing.TB { return sharedTB{t} }

type sharedTB struct{ testing.TB }

func (sharedTB) Cleanup(fn func()) { atExit(fn) }

func (s sharedTB) TempDir() string {
	d, err := tempDir("shared")
	if err != nil {
		s.Fatal(err)
	}
	atExit(func() { os.RemoveAll(d) })
	return d
}

// UserService is a running user service and its first administrator.
type UserService struct {
	*Service
	DSN           string // its database, for assertions on raw tables
	AdminUsername string
	AdminPassword string
}

// StartUserService runs the real user service (built from hospital/svc/user)
// on a fresh database of the shared MariaDB, registered in c. serviceClients
// is its SERVICE_CLIENTS ("name=secret,..."): the services that may obtain
// service tokens. env adds or overrides settings (a later KEY=value wins).
func StartUserService(t testing.TB, c *Consul, serviceClients string, env ...string) *UserService {
	t.Helper()
	u := &UserService{AdminUsername: "root-admin", AdminPassword: "Quiet-Harbor-2026", DSN: SharedMariaDB(t).NewDatabase(t)}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "BOOTSTRAP_ADMIN_USERNAME="); ok {
			u.AdminUsername = v
		}
		if v, ok := strings.CutPrefix(kv, "BOOTSTRAP_ADMIN_PASSWORD="); ok {
			u.AdminPassword = v
		}
	}
	base := []string{
		"MYSQL_DSN=" + u.DSN,
		"JWT_KEY_FILE=" + filepath.Join(t.TempDir(), "jwt.pem"),
		"JWT_GENERATE_KEY=true",
		"SERVICE_CLIENTS=" + serviceClients,
		"BOOTSTRAP_ADMIN_USERNAME=" + u.AdminUsername,
		"BOOTSTRAP_ADMIN_PASSWORD=" + u.AdminPassword,
		"BOOTSTRAP_ADMIN_EMAIL=admin@hospital.test",
	}
	u.Service = StartService(t, c, "user", Build(t, "hospital/svc/user"), append(base, env...)...)
	return u
}

// SharedOnce returns a getter for something every test of the binary shares:
// the first test that calls it runs start (with a Shared t, so what start
// registers lasts until Main ends), later tests get the same value. If start
// fails the first test, every later caller fails with a pointer to it.
func SharedOnce[T any](start func(t testing.TB) T) func(t testing.TB) T {
	var (
		once sync.Once
		val  T
		err  error
	)
	return func(t testing.TB) T {
		t.Helper()
		once.Do(func() {
			// Stays set if start fails the test (t.Fatal leaves Do early).
			err = errors.New("a shared fixture did not start: see the first test that needed it")
			val = start(Shared(t))
			err = nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return val
	}
}
