package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Build compiles the main package pkg (an import path such as
// "hospital/svc/user") once per test binary and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		d, err := tempDir("bin")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
		atExit(func() { os.RemoveAll(d) })
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Service is a platform service running as its own process.
type Service struct {
	*Proc
	Name string
	Addr string // host:port of its API
	URL  string
	// OpsURL is its operator listener (health, metrics).
	OpsURL string
	bin    string
	env    []string
	dir    string
	consul *Consul
}

// StartService runs bin as a service named name, registered in consul, with
// extra env (KEY=VALUE), and waits until it is ready. It is stopped (SIGTERM)
// when t ends.
func StartService(t testing.TB, c *Consul, name, bin string, env ...string) *Service {
	t.Helper()
	s := &Service{Name: name, bin: bin, env: env, dir: t.TempDir(), consul: c}
	if err := s.start(c, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(15 * time.Second) })
	return s
}

// Another starts one more instance of the same service (same binary and
// settings, its own ports), stopped when t ends: a service running as two
// instances.
func (s *Service) Another(t testing.TB) *Service {
	t.Helper()
	return StartService(t, s.consul, s.Name, s.bin, s.env...)
}

// start runs the service on port (0: a free one) and waits until Consul
// reports it passing. A port chosen here can be taken by someone else before
// the service binds it; the start is then tried again with new ports.
func (s *Service) start(c *Consul, port int) error {
	var err error
	for range 3 {
		err = s.startOnce(c, port)
		if err == nil || s.Proc == nil || !s.Proc.Exited() || !strings.Contains(s.Tail(2000), "address already in use") {
			return err
		}
	}
	return err
}

func (s *Service) startOnce(c *Consul, port int) error {
	s.Proc = nil
	var err error
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return err
		}
	}
	opsPort, err := FreePort()
	if err != nil {
		return err
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	s.URL = "http://" + s.Addr
	s.OpsURL = "http://127.0.0.1:" + strconv.Itoa(opsPort)
	env := append([]string{
		"HTTP_ADDR=" + s.Addr,
		"OPS_ADDR=127.0.0.1:" + strconv.Itoa(opsPort),
		"CONSUL_HTTP_ADDR=" + c.Addr,
		"LOG_LEVEL=debug",
	}, s.env...)
	p, err := Start(s.dir, s.Name+"-"+strconv.Itoa(port), s.bin, nil, env)
	if err != nil {
		return err
	}
	s.Proc = p
	if err := Until(context.Background(), 60*time.Second, p, HTTPOK(s.OpsURL+"/healthz/ready")); err != nil {
		p.Kill()
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	// Ready is not enough: callers find it through Consul.
	instance := fmt.Sprintf("%s-", s.Name)
	return Until(context.Background(), 30*time.Second, p, func(ctx context.Context) error {
		ids, err := c.Passing(ctx, s.Name)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if strings.HasPrefix(id, instance) && strings.HasSuffix(id, "-"+strconv.Itoa(port)) {
				return nil
			}
		}
		return fmt.Errorf("%s on port %d not passing in consul yet", s.Name, port)
	})
}

// Restart starts the service again (new port) after Stop or Kill.
func (s *Service) Restart(t testing.TB, c *Consul) {
	t.Helper()
	if err := s.start(c, 0); err != nil {
		t.Fatal(err)
	}
}

// RestartInPlace starts the service again on the same API port after Stop
// or Kill, as Nomad restarts a task inside its allocation (same port, same
// instance ID).
func (s *Service) RestartInPlace(t testing.TB) {
	t.Helper()
	_, port, _ := strings.Cut(s.Addr, "127.0.0.1:")
	n, _ := strconv.Atoi(port)
	if err := s.start(s.consul, n); err != nil {
		t.Fatal(err)
	}
}
