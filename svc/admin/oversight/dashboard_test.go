package oversight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/auth"
	"hospital/lib/testkit"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

// Every section is there: the running user service's figures, the audit
// log's own, and for each service that is not running, why not.
func TestDashboardShowsEveryServiceOrWhyNot(t *testing.T) {
	e := ot.New(t, nil)
	e.Ingest(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, 1))
	sum := dashboard(t, e.Svc)
	users := sum.Sections["users"]
	if !users.Available || figure(t, users, "users_active") < 1 || figure(t, users, "active_admins") < 1 {
		t.Errorf("users section: %+v", users)
	}
	for _, s := range adminapi.Sections {
		if s.Name == "users" {
			continue
		}
		sec := sum.Sections[s.Name]
		if sec.Available || sec.Reason != s.Service+" has no healthy instance" {
			t.Errorf("%s section without its service: %+v", s.Name, sec)
		}
	}
	audit := sum.Sections[oversight.AuditSection]
	if !audit.Available || figure(t, audit, "chain_length") != 1 {
		t.Errorf("audit section: %+v", audit)
	}
	if len(sum.Activity) != 7 || sum.Activity[0].Day != "2026-11-30" {
		t.Errorf("activity: %+v", sum.Activity)
	}
}

// A service that hangs, then one that is stopped: its section says so and
// the dashboard still answers, without waiting for it.
func TestDashboardSurvivesAHungAndAStoppedService(t *testing.T) {
	p := ot.StartPlatform(t)
	e := ot.NewOn(t, p, nil)
	if sec := dashboard(t, e.Svc).Sections["users"]; !sec.Available {
		t.Fatalf("users before the outage: %+v", sec)
	}
	proc := p.Users.Proc.Cmd.Process
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The signal is delivered asynchronously: wait until the kernel says so.
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(context.Context) error {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.Pid))
		if err != nil || !strings.Contains(string(st), "State:\tT") {
			return fmt.Errorf("user service not stopped yet: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = proc.Signal(syscall.SIGCONT)
		}
	}
	defer thaw()
	// Asked repeatedly while the service hangs: each answer comes, with
	// the section unavailable (a timeout, then, once the breaker opens or
	// Consul marks it critical, at once).
	reasons := map[string]bool{}
	for range 6 {
		sec := dashboard(t, e.Svc).Sections["users"]
		if sec.Available {
			t.Fatalf("users while hung: %+v", sec)
		}
		reasons[sec.Reason] = true
	}
	if !reasons[fmt.Sprintf("user did not answer within %s", e.Cfg.DashboardTimeout)] {
		t.Errorf("reasons while hung: %v", reasons)
	}
	thaw()
	waitSection(t, e.Svc, "users", true)

	if err := p.Users.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	sec := waitSection(t, e.Svc, "users", false)
	if !strings.Contains(sec.Reason, "user") {
		t.Errorf("reason %q", sec.Reason)
	}
}

// dashboard asks for the dashboard and fails the test if it hangs.
func dashboard(t *testing.T, svc *oversight.Service) oversight.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan oversight.Summary, 1)
	go func() {
		sum, err := svc.Dashboard(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	select {
	case sum := <-done:
		if len(sum.Sections) != len(adminapi.Sections)+1 {
			t.Fatalf("%d sections: %+v", len(sum.Sections), sum.Sections)
		}
		return sum
	case <-ctx.Done():
		t.Fatal("the dashboard hung")
	}
	return oversight.Summary{}
}

func waitSection(t *testing.T, svc *oversight.Service, name string, available bool) oversight.Section {
	t.Helper()
	var sec oversight.Section
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(context.Context) error {
		sec = dashboard(t, svc).Sections[name]
		if sec.Available != available {
			return fmt.Errorf("%s: %+v", name, sec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func figure(t *testing.T, s oversight.Section, name string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal(s.Figures[name], &n); err != nil {
		t.Errorf("figure %s: %s (%v)", name, s.Figures[name], err)
	}
	return n
}
