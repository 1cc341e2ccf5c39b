package settings_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/settings"
	"hospital/lib/testkit"
)

// The services' ACL policy (consul/acl/service.hcl, as vagrant/bootstrap-acl.sh
// installs it for each service) lets the admin service publish the live
// configuration and every other service follow it but not change it.
func TestServicePolicyLetsAdminPublishAndOthersRead(t *testing.T) {
	rules, err := os.ReadFile("../../consul/acl/service.hcl")
	if err != nil {
		t.Fatal(err)
	}
	addr := startACLConsul(t, "root-token-for-tests-0000000000000")
	root := aclClient(t, addr, "root-token-for-tests-0000000000000")
	token := func(service string) *consul.Client {
		t.Helper()
		pol, _, err := root.ACL().PolicyCreate(&consul.ACLPolicy{Name: "service-" + service,
			Rules: strings.ReplaceAll(string(rules), "@SERVICE@", service)}, nil)
		if err != nil {
			t.Fatalf("policy for %s: %v", service, err)
		}
		tok, _, err := root.ACL().TokenCreate(&consul.ACLToken{Policies: []*consul.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return aclClient(t, addr, tok.SecretID)
	}
	admin, billing := token("admin"), token("billing")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if ok, err := settings.NewPublisher(admin, "").Publish(ctx, settings.InvoiceDueDays.Name(), []byte("45"), 1); err != nil || !ok {
		t.Fatalf("admin publishes: %v, %v", ok, err)
	}
	w := settings.NewWatcher(billing, settings.Options{})
	days := settings.Watch(w, settings.InvoiceDueDays, 30)
	go w.Run(ctx)
	select {
	case <-w.Ready():
	case <-ctx.Done():
		t.Fatal("billing's watcher never read the configuration")
	}
	if days.Get() != 45 {
		t.Errorf("billing reads %d, want 45", days.Get())
	}
	if _, err := settings.NewPublisher(billing, "").Publish(ctx, settings.InvoiceDueDays.Name(), []byte("1"), 2); err == nil ||
		!strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("billing wrote the configuration: %v", err)
	}
	// Billing keeps its own prefix (leader locks) and may not touch admin's.
	if _, err := billing.KV().Put(&consul.KVPair{Key: "service/billing/overdue-leader", Value: []byte("x")}, nil); err != nil {
		t.Errorf("billing's own prefix: %v", err)
	}
	if _, err := billing.KV().Put(&consul.KVPair{Key: "service/admin/tasks-leader", Value: []byte("x")}, nil); err == nil {
		t.Error("billing wrote under admin's prefix")
	}
}

// startACLConsul runs a dev agent with ACLs on and deny by default, as the
// cluster runs, and returns its HTTP address.
func startACLConsul(t *testing.T, rootToken string) string {
	t.Helper()
	bin, err := testkit.Binary("consul")
	if err != nil {
		t.Fatal(err)
	}
	ports := make([]string, 4)
	for i := range ports {
		ports[i] = strconv.Itoa(testkit.MustFreePort(t))
	}
	acl := fmt.Sprintf(`acl { enabled = true
default_policy = "deny"
tokens { initial_management = %q } }`, rootToken)
	proc, err := testkit.Start(t.TempDir(), "consul-acl", bin, []string{
		"agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-node=acl-" + ports[0],
		"-http-port=" + ports[0], "-serf-lan-port=" + ports[1], "-serf-wan-port=" + ports[2], "-server-port=" + ports[3],
		"-dns-port=-1", "-grpc-port=-1", "-hcl=ports { grpc_tls = -1 }", "-hcl=" + acl, "-log-level=warn",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Stop(10 * time.Second) })
	addr := "127.0.0.1:" + ports[0]
	err = testkit.Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/acl/token/self", nil)
		req.Header.Set("X-Consul-Token", rootToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var tok map[string]any
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
			return fmt.Errorf("acl system not ready: %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func aclClient(t *testing.T, addr, token string) *consul.Client {
	t.Helper()
	c, err := consul.NewClient(&consul.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
