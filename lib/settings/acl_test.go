package settings_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/auth"
	"hospital/lib/settings"
	"hospital/lib/testkit"
)

// The services' ACL policy (consul/acl/service.hcl, as vagrant/bootstrap-acl.sh
// installs it for each service) lets the admin service publish the live
// configuration and every other service follow it but not change it.
func TestServicePolicyLetsAdminPublishAndOthersRead(t *testing.T) {
	cluster := sharedACLConsul(t)
	admin, billing := cluster.token(t, "admin"), cluster.token(t, "billing")
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
	if _, err := settings.NewPublisher(billing, "").Publish(ctx, settings.InvoiceDueDays.Name(), []byte("1"), 2); !denied(err) {
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

// The same policy lets the user service publish token revocations where
// every service follows them (lib/auth's default prefix, which lib/service
// watches), and no other service forge or erase one: a service that could
// not read them would accept revoked tokens without a word, since Consul
// leaves unreadable keys out of a list instead of refusing it.
func TestServicePolicyLetsUserPublishRevocationsAndOthersFollow(t *testing.T) {
	cluster := sharedACLConsul(t)
	user, billing, gateway := cluster.token(t, "user"), cluster.token(t, "billing"), cluster.token(t, "gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	revokedAt := time.Now().Truncate(time.Millisecond)
	pub := auth.NewRevocationPublisher(user, "")
	if err := pub.RevokeUser(ctx, 42, revokedAt); err != nil {
		t.Fatalf("user publishes a revocation: %v", err)
	}
	if err := pub.RevokeSession(ctx, "acl-session", revokedAt); err != nil {
		t.Fatalf("user publishes a session's revocation: %v", err)
	}
	// The rule on revocations does not cost the user service the rest of
	// its prefix (leader and job locks).
	if _, err := user.KV().Put(&consul.KVPair{Key: "service/user/jobs-leader", Value: []byte("x")}, nil); err != nil {
		t.Errorf("user's own prefix: %v", err)
	}

	issuedBefore := auth.Identity{UserID: 42, Role: auth.RoleDoctor, SessionID: "other", IssuedAt: revokedAt.Add(-time.Second)}
	issuedAfter := issuedBefore
	issuedAfter.IssuedAt = revokedAt.Add(time.Second)
	for name, c := range map[string]*consul.Client{"billing": billing, "gateway": gateway} {
		r := auth.NewRevocations(c, auth.RevocationOptions{})
		go r.Run(ctx)
		err := testkit.Until(ctx, 10*time.Second, nil, func(context.Context) error {
			if err := r.Check(issuedBefore); !errors.Is(err, auth.ErrRevoked) {
				return fmt.Errorf("%s accepts a revoked token: %v", name, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(issuedAfter); err != nil {
			t.Errorf("%s refuses a token issued after the revocation: %v", name, err)
		}
		if err := r.Check(auth.Identity{UserID: 7, SessionID: "acl-session"}); !errors.Is(err, auth.ErrRevoked) {
			t.Errorf("%s accepts a token of a revoked session: %v", name, err)
		}
	}

	// Another service can neither forge a revocation (refusing anyone's
	// tokens), nor raise, nor erase one (letting a stolen token back in).
	forged := auth.NewRevocationPublisher(billing, "")
	if err := forged.RevokeUser(ctx, 43, time.Now()); !denied(err) {
		t.Errorf("billing published a revocation: %v", err)
	}
	if err := forged.RevokeUser(ctx, 42, time.Now()); !denied(err) {
		t.Errorf("billing raised a revocation: %v", err)
	}
	if n, err := forged.Prune(ctx, time.Now().Add(time.Hour)); !denied(err) || n != 0 {
		t.Errorf("billing pruned %d revocations: %v", n, err)
	}
	if _, err := billing.KV().DeleteTree(auth.DefaultRevocationPrefix, nil); !denied(err) {
		t.Errorf("billing deleted the revocations: %v", err)
	}
	// The user service prunes them (list and delete).
	if n, err := pub.Prune(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("user pruned %d revocations (%v), want 2", n, err)
	}
}

func denied(err error) bool { return err != nil && strings.Contains(err.Error(), "Permission denied") }

// aclConsul is a Consul agent with ACLs on that every test of the policy
// shares, and the tokens it issued, one per service.
type aclConsul struct {
	addr string
	root *consul.Client

	mu     sync.Mutex
	tokens map[string]*consul.Client
}

var sharedACLConsul = testkit.SharedOnce(func(t testing.TB) *aclConsul {
	const rootToken = "root-token-for-tests-0000000000000"
	addr := startACLConsul(t, rootToken)
	return &aclConsul{addr: addr, root: aclClient(t, addr, rootToken), tokens: map[string]*consul.Client{}}
})

// token returns a client with the token vagrant/bootstrap-acl.sh would give
// service: the policy file with @SERVICE@ replaced by its name.
func (a *aclConsul) token(t *testing.T, service string) *consul.Client {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.tokens[service]; ok {
		return c
	}
	rules, err := os.ReadFile("../../consul/acl/service.hcl")
	if err != nil {
		t.Fatal(err)
	}
	pol, _, err := a.root.ACL().PolicyCreate(&consul.ACLPolicy{Name: "service-" + service,
		Rules: strings.ReplaceAll(string(rules), "@SERVICE@", service)}, nil)
	if err != nil {
		t.Fatalf("policy for %s: %v", service, err)
	}
	tok, _, err := a.root.ACL().TokenCreate(&consul.ACLToken{Policies: []*consul.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatalf("token for %s: %v", service, err)
	}
	c := aclClient(t, a.addr, tok.SecretID)
	a.tokens[service] = c
	return c
}

// startACLConsul runs a dev agent with ACLs on and deny by default, as the
// cluster runs, and returns its HTTP address. A port taken between choosing
// and binding it (other tests start servers on this machine too) is tried
// again with new ones.
func startACLConsul(t testing.TB, rootToken string) string {
	t.Helper()
	bin, err := testkit.Binary("consul")
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		addr, err := tryACLConsul(t, bin, rootToken)
		if err == nil {
			return addr
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
}

func tryACLConsul(t testing.TB, bin, rootToken string) (string, error) {
	ports := make([]string, 4)
	for i := range ports {
		port, err := testkit.FreePort()
		if err != nil {
			return "", err
		}
		ports[i] = strconv.Itoa(port)
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
		return "", err
	}
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
		_ = proc.Stop(10 * time.Second)
		return "", err
	}
	t.Cleanup(func() { _ = proc.Stop(10 * time.Second) })
	return addr, nil
}

func aclClient(t testing.TB, addr, token string) *consul.Client {
	t.Helper()
	c, err := consul.NewClient(&consul.Config{Address: addr, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
