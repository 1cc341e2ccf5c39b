package discovery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/discovery"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func TestFollowsConsulChanges(t *testing.T) {
	c := testkit.StartConsul(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := discovery.New(ctx, c.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	changes := make(chan int, 16)
	res.OnChange(func(service string, inst []discovery.Instance) {
		if service == "records" {
			changes <- len(inst)
		}
	})

	reg := func(id string, port int, status string) {
		t.Helper()
		err := c.Client.Agent().ServiceRegister(&consul.AgentServiceRegistration{
			ID: id, Name: "records", Address: "127.0.0.1", Port: port, Meta: map[string]string{"v": id},
			Check: &consul.AgentServiceCheck{CheckID: "chk-" + id, TTL: "10m", Status: status},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitCount := func(n int) {
		t.Helper()
		err := testkit.Until(ctx, 10*time.Second, nil, func(ctx context.Context) error {
			inst, err := res.Instances(ctx, "records")
			if err != nil {
				return err
			}
			if len(inst) != n {
				return fmt.Errorf("%d instances, want %d", len(inst), n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	catalogs := make(chan map[string]bool, 64)
	res.WatchCatalog(func(names map[string]bool) { catalogs <- names })

	if inst, err := res.Instances(ctx, "records"); err != nil || len(inst) != 0 {
		t.Fatalf("before registration: %v %v", inst, err)
	}
	reg("r1", 1001, consul.HealthPassing)
	reg("r2", 1002, consul.HealthPassing)
	waitCount(2)
	// The catalog callback names every registered service.
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case names := <-catalogs:
			seen = names["records"] && names["consul"]
		case <-deadline:
			t.Fatal("catalog callback never listed the registered service")
		}
	}

	// Round-robin over the healthy ones.
	seen := map[string]int{}
	for range 10 {
		i, err := res.Pick(ctx, "records")
		if err != nil {
			t.Fatal(err)
		}
		seen[i.ID]++
	}
	if seen["r1"] != 5 || seen["r2"] != 5 {
		t.Fatalf("picks = %v, want 5/5", seen)
	}
	// Pick avoids an instance already tried when another exists.
	if i, _ := res.Pick(ctx, "records", "r1"); i.ID != "r2" {
		t.Fatalf("pick avoiding r1 = %s", i.ID)
	}

	// A failing check removes the instance; deregistration too.
	if err := c.Client.Agent().UpdateTTL("chk-r1", "down", consul.HealthCritical); err != nil {
		t.Fatal(err)
	}
	waitCount(1)
	if i, _ := res.Pick(ctx, "records"); i.ID != "r2" || i.Address != "127.0.0.1:1002" || i.Meta["v"] != "r2" {
		t.Fatalf("remaining instance = %+v", i)
	}
	if err := c.Client.Agent().ServiceDeregister("r2"); err != nil {
		t.Fatal(err)
	}
	waitCount(0)
	if _, err := res.Pick(ctx, "records"); err == nil {
		t.Fatal("pick with no instances should fail")
	}
	select {
	case <-changes:
	default:
		t.Fatal("OnChange never fired")
	}
}
