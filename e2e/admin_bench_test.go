package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"hospital/lib/audit"
	"hospital/lib/testkit"
)

// BenchmarkLoadAdmin measures:
//   - the dashboard through the gateway (admin asking user, appointment,
//     billing, EHR, pharmacy, lab and notification at once) with every
//     running service up; with billing stopped (gone from Consul); and with
//     billing hung (SIGSTOP: calls wait for DASHBOARD_TIMEOUT until its
//     breaker opens and Consul marks it critical);
//   - audit events ingested per second: many senders posting lib/audit
//     events straight to the admin service's internal endpoint, with the
//     billing service's token (as its outbox does), each a new event; the
//     chain is verified afterwards.
//
// It is a load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadAdmin -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 16; the dashboard
// uses a quarter of them) tune it; ADMIN_AUDIT_BATCH_MAX sets the admin
// service's AUDIT_BATCH_MAX (1: one transaction per event, to compare);
// LOAD_REPORT names a file for a Markdown table.
func BenchmarkLoadAdmin(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)
	dashWorkers := max(1, workers/4)

	var adminEnv []string
	if n := os.Getenv("ADMIN_AUDIT_BATCH_MAX"); n != "" {
		adminEnv = append(adminEnv, "AUDIT_BATCH_MAX="+n)
	}
	r := startAdminRig(b, adminEnv...)
	// The dashboard's exchanges are not checked against the documents
	// during the load (the check is the functional tests' job).
	r.contract = nil
	svcTok := r.serviceToken(b, "billing", billingSecret)

	for b.Loop() {
		dash := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: r.gw + pathDashboard,
			Header: http.Header{"Authorization": {"Bearer " + r.admin}}})
		allUp := attack(b, "dashboard, all up", dash, dashWorkers, duration, http.StatusOK)

		if err := r.billing.Stop(15 * time.Second); err != nil {
			b.Fatal(err)
		}
		stopped := attack(b, "dashboard, billing stopped", dash, dashWorkers, duration, http.StatusOK)
		r.billing.Restart(b, r.consul)
		waitSectionAvailable(b, r, "billing")

		proc := r.billing.Proc.Cmd.Process
		if err := proc.Signal(syscall.SIGSTOP); err != nil {
			b.Fatal(err)
		}
		hung := attack(b, "dashboard, billing hung", dash, dashWorkers, duration, http.StatusOK)
		_ = proc.Signal(syscall.SIGCONT)

		// Audit events straight to the admin service.
		var seq atomic.Int64
		url := r.admins[0].URL + "/api/v1/admin/internal/audit-events/"
		header := http.Header{"Authorization": {"Bearer " + svcTok}, "Content-Type": {"application/json"}}
		ingest := attack(b, "audit events", func(t *vegeta.Target) error {
			i := seq.Add(1)
			ev := audit.Event{EventID: fmt.Sprintf("bench-%09d", i), Timestamp: time.Now().UTC(), Service: "billing",
				Action: "billing.invoice.read", UserID: 1000 + i%50, Role: "PATIENT", PatientID: 1000 + i%50,
				ObjectType: "invoice", ObjectID: fmt.Sprint(i), Outcome: audit.Success, RequestID: fmt.Sprintf("req-%d", i),
				ClientIP: "203.0.113.7"}
			body, _ := json.Marshal(ev)
			h := header.Clone()
			h.Set("Idempotency-Key", "audit:"+ev.EventID)
			*t = vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: h}
			return nil
		}, workers, duration, http.StatusCreated)

		v := r.do(b, http.MethodGet, pathAuditLogs+"verify/", r.admin, nil, nil)
		if v.status != http.StatusOK || v.body["valid"] != true {
			b.Fatalf("the chain after the load: %d %s", v.status, v.raw)
		}
		checked := num(v.body["checked"])

		report := func(name string, m *vegeta.Metrics) {
			key := map[string]string{"dashboard, all up": "dash_up", "dashboard, billing stopped": "dash_stopped",
				"dashboard, billing hung": "dash_hung", "audit events": "ingest"}[name]
			b.ReportMetric(m.Throughput, key+"/s")
			b.ReportMetric(ms(m.Latencies.P50), key+"_p50_ms")
			b.ReportMetric(ms(m.Latencies.P99), key+"_p99_ms")
			b.ReportMetric(ms(m.Latencies.Max), key+"_max_ms")
		}
		report("dashboard, all up", allUp)
		report("dashboard, billing stopped", stopped)
		report("dashboard, billing hung", hung)
		report("audit events", ingest)
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			row := func(what string, m *vegeta.Metrics) string {
				return fmt.Sprintf("| %s | %.0f/s | %.2f ms | %.2f ms | %.2f ms | %d |\n", what, m.Throughput,
					ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Max), m.Requests)
			}
			text := "| measure | rate | p50 | p99 | max | requests |\n|---|---|---|---|---|---|\n" +
				row("dashboard through the gateway, all services up", allUp) +
				row("dashboard, billing stopped", stopped) +
				row("dashboard, billing hung (SIGSTOP)", hung) +
				row("audit events into the chain (one admin instance)", ingest) +
				fmt.Sprintf("\nChain verified after the load: %d entries, valid. (%d workers for the events, %d for the "+
					"dashboard, %s per measure, one machine.)\n", checked, workers, dashWorkers, duration)
			if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func waitSectionAvailable(b *testing.B, r *adminRig, name string) {
	b.Helper()
	err := testkit.Until(context.Background(), 60*time.Second, nil, func(context.Context) error {
		res := r.do(b, http.MethodGet, pathDashboard, r.admin, nil, nil)
		sec, _ := res.body["sections"].(map[string]any)[name].(map[string]any)
		if sec["available"] != true {
			return fmt.Errorf("%s: %v", name, sec)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
