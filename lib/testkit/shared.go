package testkit

import (
	"os"
	"path/filepath"
	"strings"
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
