package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Consul is a dev agent of its own.
type Consul struct {
	Addr   string // host:port of the HTTP API
	Client *consul.Client
	proc   *Proc
	dir    string
}

// StartConsul starts a Consul dev agent on free ports, stopped when t ends.
func StartConsul(t testing.TB) *Consul {
	t.Helper()
	c, err := retryStart(3, startConsul)
	if err != nil {
		t.Fatalf("consul: %v", err)
	}
	t.Cleanup(c.stop)
	return c
}

func startConsul() (*Consul, error) {
	bin, err := Binary("consul")
	if err != nil {
		return nil, err
	}
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	dir, err := tempDir("consul")
	if err != nil {
		return nil, err
	}
	name := "test-" + strconv.Itoa(ports[0])
	proc, err := Start(dir, "consul", bin, []string{
		"agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-node=" + name,
		"-http-port=" + strconv.Itoa(ports[0]), "-serf-lan-port=" + strconv.Itoa(ports[1]),
		"-serf-wan-port=" + strconv.Itoa(ports[2]), "-server-port=" + strconv.Itoa(ports[3]),
		"-dns-port=-1", "-grpc-port=-1", "-hcl=ports { grpc_tls = -1 }", "-log-level=warn",
	}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	c := &Consul{Addr: addr, proc: proc, dir: dir}
	err = Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status/leader", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var leader string
		if err := json.NewDecoder(resp.Body).Decode(&leader); err != nil || leader == "" {
			return fmt.Errorf("no leader yet")
		}
		return nil
	})
	if err != nil {
		c.stop()
		return nil, err
	}
	cfg := consul.DefaultConfig()
	cfg.Address = addr
	c.Client, err = consul.NewClient(cfg)
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *Consul) stop() {
	_ = c.proc.Stop(10 * time.Second)
	os.RemoveAll(c.dir)
}

// Passing returns the IDs of passing instances of service.
func (c *Consul) Passing(ctx context.Context, service string) ([]string, error) {
	entries, _, err := c.Client.Health().Service(service, "", true, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.Service.ID)
	}
	return ids, nil
}

// WaitPassing waits until service has n passing instances.
func (c *Consul) WaitPassing(t testing.TB, service string, n int, timeout time.Duration) {
	t.Helper()
	err := Until(context.Background(), timeout, nil, func(ctx context.Context) error {
		ids, err := c.Passing(ctx, service)
		if err != nil {
			return err
		}
		if len(ids) != n {
			return fmt.Errorf("%s has %d passing instances, want %d", service, len(ids), n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
