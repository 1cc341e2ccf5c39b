package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a throwaway PostgreSQL cluster (initdb into a temporary
// directory, the server on a free loopback port, trust authentication).
// FerretDB runs on one; nothing else in the platform talks to PostgreSQL.
type Postgres struct {
	Port int
	dir  string
	proc *Proc
}

// StartPostgres starts a cluster of its own, stopped and removed when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := retryStart(3, startPostgres)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(p.stop)
	return p
}

// URL is the address of database db on the cluster, as superuser postgres.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s", p.Port, db)
}

// pgBinDir finds PostgreSQL's server binaries: HOSPITAL_PG_BIN, Debian's
// /usr/lib/postgresql/<newest>/bin, or the directory of an initdb on PATH.
func pgBinDir() (string, error) {
	if d := os.Getenv("HOSPITAL_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL not found (initdb): install Debian's postgresql-15, or set HOSPITAL_PG_BIN")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// pgCredential: PostgreSQL refuses to run as root, so as root the cluster
// belongs to the postgres user (nil: run as ourselves).
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user to own the cluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startPostgres() (*Postgres, error) {
	reapOrphanedPostgres()
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("postgres")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "--pgdata="+data, "--username=postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, joinErr("initdb", err, out)
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Durability settings off: the cluster is thrown away with the test run.
	proc, err := startAs(dir, "postgres", filepath.Join(bin, "postgres"), []string{
		"-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=64MB", "-c", "logging_collector=off",
	}, cred)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Postgres{Port: port, dir: dir, proc: proc}
	_ = os.WriteFile(filepath.Join(dir, "server.pid"), []byte(strconv.Itoa(proc.Cmd.Process.Pid)), 0o644)
	createdb := filepath.Join(bin, "createdb")
	err = Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, createdb, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-U", "postgres", "ferretdb").CombinedOutput()
		if err != nil {
			return joinErr("createdb", err, out)
		}
		return nil
	})
	if err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// startAs is Start for a child that runs under cred (nil: as ourselves).
// Go sets the parent-death signal after switching users, so the server still
// dies with the test binary.
func startAs(dir, name, bin string, args []string, cred *syscall.Credential) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks for a fast shutdown (SIGINT: clients are disconnected, nothing
// waits for them) and removes the cluster.
func (p *Postgres) stop() {
	if !p.proc.Exited() {
		_ = p.proc.Cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.proc.Done():
		case <-time.After(20 * time.Second):
			p.proc.Kill()
		}
	}
	os.RemoveAll(p.dir)
}

// reapOrphanedPostgres stops clusters left by test binaries that died
// without running Main and removes their directories.
func reapOrphanedPostgres() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "hospital-postgres-*"))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, "owner.pid"))
		if err != nil || alive(owner) {
			continue
		}
		if server, err := readPID(filepath.Join(dir, "server.pid")); err == nil && alive(server) && isPostgres(server) {
			_ = syscall.Kill(server, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
	}
}

// isPostgres guards against killing an unrelated process that reused a pid.
func isPostgres(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "postgres")
}
