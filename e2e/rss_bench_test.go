package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// BenchmarkIdleRSS starts every service of the platform (user, notification,
// appointment, billing, EHR, pharmacy, lab, admin and the gateway), waits
// until the gateway routes to each, lets them sit idle for RSS_IDLE
// (default 5s: their start-up jobs and first Consul polls are done) and
// reads each process's resident set size (VmRSS in /proc/<pid>/status).
// The goal is at most 30 MB (10^6 bytes) per service.
//
//	go test -run '^$' -bench BenchmarkIdleRSS -benchtime 1x ./e2e/
//
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkIdleRSS(b *testing.B) {
	idle := envDuration("RSS_IDLE", 5*time.Second)
	r := startAdminRig(b)
	f := testkit.SharedFerretDB(b)
	lab := testkit.StartService(b, r.consul, "lab", testkit.Build(b, "hospital/svc/lab"),
		"MONGO_URI="+f.URI, "MONGO_DB="+f.NewDatabase(b), "SERVICE_SECRET="+labSecret)
	r.waitStatus(b, http.MethodGet, "/api/v1/lab/orders/pending/", http.StatusUnauthorized)
	procs := map[string]*testkit.Service{
		"user": r.user, "gateway": r.gateway, "notification": r.notifSvc, "appointment": r.appt,
		"billing": r.billing, "ehr": r.ehr, "pharmacy": r.pharmacy.pharmacy, "lab": lab, "admin": r.admins[0],
	}
	for b.Loop() {
		// Idle is the state being measured: nothing to wait for but time.
		time.Sleep(idle)
		names := make([]string, 0, len(procs))
		rss := map[string]float64{}
		for name, s := range procs {
			kb, err := vmRSS(s.Cmd.Process.Pid)
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			rss[name] = float64(kb) * 1024 / 1e6
			names = append(names, name)
		}
		sort.Strings(names)
		var rep strings.Builder
		rep.WriteString("| service | RSS idle (MB) | goal | ratio |\n|---|---|---|---|\n")
		worst := 0.0
		for _, n := range names {
			b.ReportMetric(rss[n], n+"_MB")
			worst = max(worst, rss[n])
			fmt.Fprintf(&rep, "| %s | %.1f | ≤ 30 | %.2f× |\n", n, rss[n], rss[n]/30)
		}
		b.ReportMetric(worst, "max_MB")
		fmt.Fprintf(&rep, "\nAfter start and %s idle; MB = 10^6 bytes (VmRSS of /proc/<pid>/status).\n", idle)
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			if err := os.WriteFile(out, []byte(rep.String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// vmRSS is the resident set size of process pid, in KiB.
func vmRSS(pid int) (int, error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
