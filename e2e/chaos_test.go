package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// RecoveryGoal is the longest time from a kill -9 (and immediate restart)
// of a service to its first successful answer through the gateway (issue:
// recovery in seconds, not tens of seconds).
const RecoveryGoal = 3 * time.Second

// StoreOutageGoal bounds how long a request waits on an unreachable store
// before its 503.
const StoreOutageGoal = 2 * time.Second

// fault is one thing the chaos suite does to the running platform.
type fault struct {
	name   string
	target string // the probe whose recovery is measured ("" for none)
	// brk breaks something; repair (if any) mends it once the target's
	// probe has seen the outage (3 failed answers, or answered answers).
	brk, repair func(t *testing.T)
	answered    int
	// expect: "no failure" (a rolling restart), "503" (only 2xx or 503
	// with Retry-After), "gateway down" (as 503, plus refused connections),
	// "store" (503 within StoreOutageGoal), "slow store" (503/504, no hang).
	expect string
	// recovery is asserted against RecoveryGoal.
	recovery bool
}

type faultResult struct {
	name      string
	outage    time.Duration // from the fault to the start of the repair
	recovered time.Duration // repair started to first success; 0 when not measured
	answers   map[string]int
	slowest   time.Duration // slowest answer that was not a success
}

// TestChaos runs a booking and notification load through the gateway while
// it kills (kill -9) and stops (SIGTERM) each service and store in turn,
// restarts a two-instance service one instance at a time, and slows or
// stalls the stores behind Toxiproxy. It fails on a lost or doubled
// booking or email, a request that outlived its route timeout, a 404, an
// outage answered with anything but 503 and Retry-After, a failed request
// during the rolling restart, and recovery slower than RecoveryGoal.
// CHAOS_REPORT names a file that receives the figures as Markdown.
func TestChaos(t *testing.T) {
	r := startChaos(t)
	ctx := context.Background()
	timeouts := routeTimeouts(ctx, r.platform)
	docA, _ := r.doctor(t, "drca")
	docB, _ := r.doctor(t, "drcb")
	doctors := []int64{docA, docB}
	emails := map[int64]string{docA: "drca@hospital.test", docB: "drcb@hospital.test"}
	var patients []int64
	var tokens []string
	for i := range 24 { // a few bookings each: per-patient booking limits stay out of the way
		name := fmt.Sprintf("chaos-p%d", i)
		id, tok := r.patient(t, name)
		patients, tokens = append(patients, id), append(tokens, tok)
		emails[id] = name + "@patients.test"
	}

	l := newLoad(r.gw)
	l.book(0, doctors, patients, tokens)
	if len(l.bookings) != 1 {
		t.Fatalf("first booking: %v", l.samples)
	}
	first := l.bookings[0]
	var k atomic.Int64
	l.every(250*time.Millisecond, func() { l.book(int(k.Add(1)), doctors, patients, tokens) })
	l.every(100*time.Millisecond, func() { l.send("user", http.MethodGet, "/api/v1/users/me/", tokens[0], nil) })
	l.every(100*time.Millisecond, func() {
		l.send("appointment", http.MethodGet, fmt.Sprintf("/api/v1/appointments/%d/", first.id), tokens[0], nil)
	})
	l.every(100*time.Millisecond, func() {
		l.send("notification", http.MethodGet, "/api/v1/admin/notification-logs/?page_size=1", r.admin, nil)
	})

	stop := func(s **testkit.Service, kill bool) func(t *testing.T) {
		return func(t *testing.T) {
			if kill {
				(*s).Kill()
			} else if err := (*s).Stop(30 * time.Second); err != nil {
				t.Error(err)
			}
		}
	}
	start := func(s **testkit.Service) func(t *testing.T) { return func(t *testing.T) { (*s).RestartInPlace(t) } }
	user, notif, gw := r.user, r.notifSvc, r.gateway
	var removeToxic func()
	faults := []fault{
		{name: "rolling restart of appointment (2 instances, SIGTERM)", expect: "no failure", brk: func(t *testing.T) {
			for _, s := range []**testkit.Service{&r.appt, &r.apptB} {
				stop(s, false)(t)
				start(s)(t)
			}
		}},
		{name: "SIGTERM appointment (1 instance)", target: "appointment", expect: "503", brk: func(t *testing.T) {
			stop(&r.apptB, false)(t) // from now on one instance
			stop(&r.appt, false)(t)
		}, repair: start(&r.appt)},
		{name: "kill -9 appointment", target: "appointment", expect: "503", recovery: true, brk: stop(&r.appt, true), repair: start(&r.appt)},
		{name: "SIGTERM user", target: "user", expect: "503", brk: stop(&user, false), repair: start(&user)},
		{name: "kill -9 user", target: "user", expect: "503", recovery: true, brk: stop(&user, true), repair: start(&user)},
		{name: "SIGTERM notification", target: "notification", expect: "503", brk: stop(&notif, false), repair: start(&notif)},
		{name: "kill -9 notification", target: "notification", expect: "503", recovery: true, brk: stop(&notif, true), repair: start(&notif)},
		{name: "SIGTERM gateway", target: "user", expect: "gateway down", brk: stop(&gw, false), repair: start(&gw)},
		{name: "kill -9 gateway", target: "user", expect: "gateway down", recovery: true, brk: stop(&gw, true), repair: start(&gw)},
		{name: "kill -9 MariaDB", target: "appointment", expect: "store", recovery: true,
			brk: func(*testing.T) { r.maria.Kill() }, repair: func(t *testing.T) { r.maria.Restart(t) }},
		{name: "SIGTERM MariaDB", target: "appointment", expect: "store", recovery: true,
			brk: func(t *testing.T) { r.maria.Shutdown(t) }, repair: func(t *testing.T) { r.maria.Restart(t) }},
		{name: "Mailpit (SMTP) down", target: "notification", expect: "no failure", answered: 20,
			brk: func(*testing.T) { r.notif.mail.Stop() }, repair: func(t *testing.T) { r.notif.mail.Start(t) }},
		{name: "FerretDB unreachable (Toxiproxy down)", target: "notification", expect: "store",
			brk: func(*testing.T) { r.mongoProxy.Stop() },
			repair: func(t *testing.T) {
				if err := r.mongoProxy.Start(); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "MariaDB 3 s latency (Toxiproxy)", target: "appointment", expect: "slow store", answered: 30,
			brk:    func(t *testing.T) { removeToxic = toxic(t, r.apptProxy, "latency", "latency", `{"latency":3000}`) },
			repair: func(*testing.T) { removeToxic() }},
		{name: "MariaDB stalls (Toxiproxy timeout)", target: "appointment", expect: "slow store", answered: 30,
			brk:    func(t *testing.T) { removeToxic = toxic(t, r.apptProxy, "stall", "timeout", `{"timeout":0}`) },
			repair: func(*testing.T) { removeToxic() }},
	}

	results := make([]faultResult, len(faults))
	windows := make([][2]time.Time, len(faults))
	for i, f := range faults {
		t0 := time.Now()
		f.brk(t)
		res := faultResult{name: f.name, answers: map[string]int{}}
		if f.repair != nil {
			// The outage lasts until clients have seen it (as a supervisor's
			// restart delay would), then the repair starts.
			waitFor(t, f.name+": the outage is seen", func() bool { return l.observed(f.target, t0, f.answered) })
			tr := time.Now()
			res.outage = tr.Sub(t0)
			f.repair(t)
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			if err := l.waitSuccess(wctx, f.target, tr); err != nil {
				t.Errorf("%s: %v", f.name, err)
			}
			cancel()
			if done := l.firstSuccess(f.target, tr); !done.IsZero() {
				res.recovered = done.Sub(tr)
			}
			if f.recovery && res.recovered > RecoveryGoal {
				t.Errorf("%s: first success %s after the restart began, goal %s", f.name, res.recovered.Round(time.Millisecond), RecoveryGoal)
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if err := l.waitSteady(sctx, t0); err != nil {
			t.Errorf("after %s: %v", f.name, err)
		}
		cancel()
		windows[i] = [2]time.Time{t0, time.Now()}
		results[i] = res
	}
	l.halt()
	// Every request has come back: judge each by the fault it was sent under.
	for i, f := range faults {
		for _, s := range l.between(windows[i][0], windows[i][1]) {
			judge(t, f, s, timeouts, &results[i])
		}
	}
	checkExactlyOnce(t, r, l, emails)
	report(t, results, l)
}

// judge fails the test for a sample that breaks the fault's expectations.
func judge(t *testing.T, f fault, s sample, timeouts func(string) time.Duration, res *faultResult) {
	t.Helper()
	key := fmt.Sprint(s.status)
	if s.status == 0 {
		key = "no answer"
	}
	res.answers[key]++
	if !s.ok() && s.took > res.slowest {
		res.slowest = s.took
	}
	path := strings.SplitN(s.path, " ", 2)[1]
	limit := timeouts(strings.SplitN(path, "?", 2)[0]) + time.Second
	switch {
	case s.took > limit:
		t.Errorf("%s: a request hung past its route timeout: %s", f.name, s)
	case s.ok():
	case s.status == http.StatusNotFound:
		t.Errorf("%s: 404 during a restart: %s", f.name, s)
	case f.expect == "no failure":
		t.Errorf("%s: a request failed: %s", f.name, s)
	case s.status == 0 && f.expect == "gateway down":
	case f.expect == "slow store" && (s.status == http.StatusServiceUnavailable || s.status == http.StatusGatewayTimeout):
	case s.status != http.StatusServiceUnavailable || !s.retryAfter:
		t.Errorf("%s: want 503 with Retry-After during the outage: %s", f.name, s)
	case f.expect == "store" && s.took > StoreOutageGoal:
		t.Errorf("%s: the 503 took longer than %s: %s", f.name, StoreOutageGoal, s)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		if !cond() {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// report logs the figures and writes them to CHAOS_REPORT as Markdown.
func report(t *testing.T, results []faultResult, l *load) {
	var b strings.Builder
	b.WriteString("| fault | outage before the restart | first success after the restart began | answers during the fault | slowest failure |\n|---|---|---|---|---|\n")
	for _, r := range results {
		rec := "—"
		if r.recovered > 0 {
			rec = fmt.Sprintf("%.2f s", r.recovered.Seconds())
		}
		keys := make([]string, 0, len(r.answers))
		for k := range r.answers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s×%d", k, r.answers[k]))
		}
		fmt.Fprintf(&b, "| %s | %.2f s | %s | %s | %s |\n", r.name, r.outage.Seconds(), rec, strings.Join(parts, ", "), r.slowest.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "\n%d requests, %d acknowledged bookings.\n", len(l.samples), len(l.bookings))
	t.Log("chaos figures:\n" + b.String())
	if out := os.Getenv("CHAOS_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
