package testkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"hospital/lib/mysqldb"
)

// MariaDB is a throwaway server shared by the tests of one package.
type MariaDB struct {
	Port int
	dir  string
	proc *Proc
	root *sql.DB
}

var (
	mariaOnce sync.Once
	maria     *MariaDB
	mariaErr  error
)

// SharedMariaDB starts (once per test binary) a MariaDB server with its own
// data directory; Main stops it and removes the directory.
func SharedMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	mariaOnce.Do(func() {
		maria, mariaErr = retryStart(3, startMariaDB)
		if mariaErr == nil {
			atExit(maria.stop)
		}
	})
	if mariaErr != nil {
		t.Fatalf("mariadb: %v", mariaErr)
	}
	return maria
}

func startMariaDB() (*MariaDB, error) {
	reapOrphanedMariaDB()
	mariadbd, err := Binary("mariadbd")
	if err != nil {
		return nil, err
	}
	installDB, err := Binary("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("mariadb")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		// mariadbd refuses to run as root; --user=mysql needs a dir mysql owns.
		_ = os.Chmod(dir, 0o777)
	}
	out, err := exec.Command(installDB, "--no-defaults", "--user=mysql", "--datadir="+data,
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, joinErr("mariadb-install-db", err, out)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &MariaDB{Port: port, dir: dir}
	root, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?multiStatements=true", port))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	m.root = root
	if err := m.run(mariadbd); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// run starts mariadbd on m's port and data directory and waits until it
// answers.
func (m *MariaDB) run(mariadbd string) error {
	sock := filepath.Join(m.dir, "mysqld.sock")
	proc, err := Start(m.dir, "mariadbd", mariadbd, []string{
		"--no-defaults", "--user=mysql", "--datadir=" + filepath.Join(m.dir, "data"), "--socket=" + sock,
		"--port=" + strconv.Itoa(m.Port), "--bind-address=127.0.0.1", "--skip-log-bin",
		"--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
		"--max-connections=500", "--log-error=" + filepath.Join(m.dir, "error.log"),
	}, nil)
	if err != nil {
		return err
	}
	m.proc = proc
	// mariadbd drops root for the mysql user, which clears the parent-death
	// signal: if this test binary is killed, the next one reaps the server.
	_ = os.WriteFile(filepath.Join(m.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	_ = os.WriteFile(filepath.Join(m.dir, "server.pid"), []byte(strconv.Itoa(proc.Cmd.Process.Pid)), 0o644)
	err = Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error { return m.root.PingContext(ctx) })
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
		return fmt.Errorf("%w\n%s", err, log)
	}
	return nil
}

// StartMariaDB starts a MariaDB server of the test's own (not the shared
// one), for tests that stop, kill or restart it; it is removed when t ends.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	m, err := retryStart(3, startMariaDB)
	if err != nil {
		t.Fatalf("mariadb: %v", err)
	}
	t.Cleanup(m.stop)
	return m
}

// Kill ends the server at once (kill -9: no shutdown, as in a crash).
func (m *MariaDB) Kill() { m.proc.Kill() }

// Shutdown stops the server with SIGTERM (a clean shutdown) and waits.
func (m *MariaDB) Shutdown(t testing.TB) {
	t.Helper()
	if err := m.proc.Stop(30 * time.Second); err != nil {
		t.Error(err)
	}
}

// Restart starts the server again on the same port and data directory
// after Kill, as a supervisor would, and waits until it answers.
func (m *MariaDB) Restart(t testing.TB) {
	t.Helper()
	mariadbd, err := Binary("mariadbd")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.run(mariadbd); err != nil {
		t.Fatalf("restart mariadb: %v", err)
	}
}

func (m *MariaDB) stop() {
	if m.root != nil {
		m.root.Close()
	}
	if m.proc != nil {
		_ = m.proc.Stop(20 * time.Second)
	}
	os.RemoveAll(m.dir)
}

// reapOrphanedMariaDB stops servers left by test binaries that died without
// running Main (a -timeout panic, a kill) and removes their directories.
func reapOrphanedMariaDB() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "hospital-mariadb-*"))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, "owner.pid"))
		if err != nil || alive(owner) {
			continue
		}
		if server, err := readPID(filepath.Join(dir, "server.pid")); err == nil && alive(server) {
			_ = syscall.Kill(server, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	}
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// alive reports whether a process with pid exists.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// NewDatabase creates an empty database with its own user and returns its
// DSN; the database is dropped when the test ends.
func (m *MariaDB) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	pass := hex.EncodeToString(b[:]) + "pw"
	_, err := m.root.Exec(fmt.Sprintf(
		"CREATE DATABASE %[1]s CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; "+
			"CREATE USER '%[1]s'@'127.0.0.1' IDENTIFIED BY '%[2]s'; "+
			"GRANT ALL ON %[1]s.* TO '%[1]s'@'127.0.0.1';", name, pass))
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = m.root.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s; DROP USER IF EXISTS '%[1]s'@'127.0.0.1';", name))
	})
	return fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/%s?parseTime=true", name, pass, m.Port, name)
}

// Root returns a root connection (for assertions on raw tables).
func (m *MariaDB) Root() *sql.DB { return m.root }

// NewMySQL opens a fresh database on the shared MariaDB, applies migrate
// (nil for none) and closes it when the test ends. It returns the handle and
// the DSN (for a service process under test).
func NewMySQL(t testing.TB, migrate func(ctx context.Context, db *sql.DB) error) (*sql.DB, string) {
	t.Helper()
	dsn := SharedMariaDB(t).NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := mysqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if migrate != nil {
		if err := migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	return db, dsn
}
