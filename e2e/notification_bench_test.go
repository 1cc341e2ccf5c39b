package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"hospital/lib/testkit"
)

// BenchmarkLoadNotificationSend drives POST /api/v1/notifications/send/
// through the gateway at full speed for LOAD_DURATION, then waits until the
// workers have delivered every queued email to Mailpit over SMTP. It reports
// sends accepted per second (with p50/p99 answer time), emails delivered per
// second end to end, and the p50/p99 time from a log's creation to the SMTP
// server accepting its email; it fails if any email arrives twice. It is a
// load run: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadNotificationSend -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 16) tune it;
// LOAD_RATE paces the sends (per second; default 0: as fast as accepted),
// to measure queue-to-sent latency below saturation;
// NOTIFICATION_INSTANCES (default 1) runs more notification instances;
// LOAD_REPORT names a file that receives a Markdown table of the results.
func BenchmarkLoadNotificationSend(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 16)
	instances := envInt("NOTIFICATION_INSTANCES", 1)
	rate := envInt("LOAD_RATE", 0)

	p := startPlatform(b)
	n := newNotifier(b)
	for range instances {
		n.start(b, p, "WORKER_CONCURRENCY=8", "WORKER_POLL_INTERVAL=1s")
	}
	p.consul.WaitPassing(b, "notification", instances, 30*time.Second)
	p.waitNotificationRouted(b)
	reg := p.register(b, "bench-patient")
	userID := int64(reg.body["id"].(float64))
	n.mail.WaitFor(b, "to:bench-patient@patients.test", 1, 30*time.Second)
	admin, _ := p.login(b, adminUser, adminPass)

	for b.Loop() {
		var seq atomic.Int64
		header := http.Header{"Authorization": {"Bearer " + admin}, "Content-Type": {"application/json"}}
		targeter := func(t *vegeta.Target) error {
			i := seq.Add(1)
			body, _ := json.Marshal(map[string]any{
				"notification_type": "APPOINTMENT_REMINDER_PATIENT", "recipient_id": userID, "channel": "EMAIL",
				"data": map[string]any{"patient_name": "Bench", "doctor_name": "Dr. Load", "appointment_time": "slot " + strconv.FormatInt(i, 10)},
			})
			h := header.Clone()
			h.Set("Idempotency-Key", "bench-"+strconv.FormatInt(i, 10))
			*t = vegeta.Target{Method: http.MethodPost, URL: p.gw + pathSend, Body: body, Header: h}
			return nil
		}
		attacker := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
			vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
		var m vegeta.Metrics
		for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, duration, "send") {
			m.Add(res)
		}
		m.Close()
		if m.Success < 0.999 {
			b.Fatalf("success ratio %.4f, errors %v, status codes %v", m.Success, m.Errors, m.StatusCodes)
		}
		accepted := int(m.Requests)

		// Every accepted send becomes one email. Mailpit's count is watched
		// (cheap); the logs are read once at the end, so that reading them
		// does not compete with the delivery being measured.
		drainStart := time.Now()
		err := testkit.Until(context.Background(), 30*time.Minute, nil, func(ctx context.Context) error {
			c, err := n.mail.Count(ctx)
			switch {
			case err != nil:
				return err
			case c > accepted+1:
				// Exactly once, with any number of instances.
				b.Fatalf("mailpit holds %d messages for %d sends: some went out twice", c, accepted+1)
			case c < accepted+1:
				return fmt.Errorf("mailpit holds %d messages, want %d", c, accepted+1)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		drain := time.Since(drainStart)
		logs := p.waitLogs(b, admin, "recipient_id="+strconv.FormatInt(userID, 10)+"&notification_type=APPOINTMENT_REMINDER_PATIENT",
			"every queued email recorded SENT", time.Minute, allSent(accepted))

		var lat []time.Duration
		first, last := logs[0].CreatedAt, *logs[0].SentAt
		for _, l := range logs {
			lat = append(lat, l.SentAt.Sub(l.CreatedAt))
			if l.CreatedAt.Before(first) {
				first = l.CreatedAt
			}
			if l.SentAt.After(last) {
				last = *l.SentAt
			}
		}
		slices.Sort(lat)
		pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		delivered := float64(accepted) / last.Sub(first).Seconds()

		b.ReportMetric(m.Throughput, "accepted_sends/s")
		b.ReportMetric(ms(m.Latencies.P50), "accept_p50_ms")
		b.ReportMetric(ms(m.Latencies.P99), "accept_p99_ms")
		b.ReportMetric(delivered, "delivered_emails/s")
		b.ReportMetric(ms(pct(0.50)), "queue_to_sent_p50_ms")
		b.ReportMetric(ms(pct(0.99)), "queue_to_sent_p99_ms")
		b.ReportMetric(float64(accepted), "emails")
		b.Logf("%d sends accepted in %s; all delivered %s after the load ended", accepted, duration, drain.Round(time.Millisecond))
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| measure | value |\n|---|---|\n"+
				"| sends accepted through the gateway | %.0f /s (p50 %.1f ms, p99 %.1f ms, %d requests, %.2f%% success) |\n"+
				"| emails delivered to Mailpit (SMTP), end to end | %.0f /s |\n"+
				"| queue-to-sent latency | p50 %.0f ms, p99 %.0f ms |\n\n"+
				"(%d load workers, rate %s, %s, %d notification instance(s) with 8 messages in flight each, FerretDB, one machine; every email arrived once.)\n",
				m.Throughput, ms(m.Latencies.P50), ms(m.Latencies.P99), m.Requests, m.Success*100,
				delivered, ms(pct(0.50)), ms(pct(0.99)), workers, rateText(rate), duration, instances)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func rateText(rate int) string {
	if rate <= 0 {
		return "unpaced"
	}
	return strconv.Itoa(rate) + "/s"
}
