// Package testkit starts the real infrastructure the platform's tests run
// against: MariaDB with a throwaway data directory, Consul dev agents, and
// the service processes themselves. Everything listens on free loopback ports
// in its own temporary directory, so test packages run in parallel and beside
// a running `make run`.
package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BinDir is where `make tools` puts the pinned infrastructure binaries.
func BinDir() string {
	if d := os.Getenv("HOSPITAL_TOOLS_BIN"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "hospital", "bin")
}

// Binary finds an infrastructure binary: the tools dir, then PATH, then
// /usr/sbin (where Debian puts mariadbd).
func Binary(name string) (string, error) {
	if p := filepath.Join(BinDir(), name); isExec(p) {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p := filepath.Join("/usr/sbin", name); isExec(p) {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s, PATH or /usr/sbin: run `make tools` (or `make test`, which does)", name, BinDir())
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// MustFreePort is FreePort failing the test on error.
func MustFreePort(t testing.TB) int {
	t.Helper()
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Proc is a child process whose output goes to a log file.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	err     error
}

// Start runs bin with args and extra env, logging to dir/name.log. The child
// is killed if the test binary dies (Pdeathsig), so nothing outlives a test run.
func Start(dir, name, bin string, args []string, env []string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
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

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process ends.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits up to timeout, then kills.
func (p *Proc) Stop(timeout time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %s; killed", p.Name, timeout)
	}
}

// Kill ends the process at once (a crash, as far as others can tell).
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Tail returns the last n bytes of the process log.
func (p *Proc) Tail(n int) string {
	b, _ := os.ReadFile(p.LogPath)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Until polls cond every 50ms until it returns nil, the process (if any)
// exits, or timeout passes; it returns the last error.
func Until(ctx context.Context, timeout time.Duration, p *Proc, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = cond(ctx); last == nil {
			return nil
		}
		var done <-chan struct{}
		if p != nil {
			done = p.done
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", timeout, last)
		case <-done:
			return fmt.Errorf("%s exited (%v) before it was ready: %w\n%s", p.Name, p.err, last, p.Tail(3000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// HTTPOK is a condition for Until: GET url answers 200.
func HTTPOK(url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
		}
		return nil
	}
}

// TCPOpen is a condition for Until: addr accepts connections.
func TCPOpen(addr string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// cleanups run at the end of the test binary (see Main).
var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func atExit(fn func()) {
	cleanupMu.Lock()
	cleanups = append(cleanups, fn)
	cleanupMu.Unlock()
}

// Main runs the package's tests and then stops the shared servers. Use it
// from TestMain: func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	return code
}

// retryStart starts something that needs free ports, trying again with new
// ports if a port was taken between choosing and binding it.
func retryStart[T any](attempts int, fn func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range attempts {
		if v, err = fn(); err == nil {
			return v, nil
		}
	}
	return v, err
}

func tempDir(prefix string) (string, error) {
	return os.MkdirTemp("", "hospital-"+prefix+"-")
}

func joinErr(msg string, err error, out []byte) error {
	return errors.Join(fmt.Errorf("%s: %w", msg, err), errors.New(string(bytes.TrimSpace(out))))
}
