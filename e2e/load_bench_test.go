package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// BenchmarkLoadMe drives GET /api/v1/users/me/ at full speed, first straight
// at the user service and then through the gateway, in the same run on the
// same machine, and reports requests/s and latency percentiles for both.
// It is a load run, not a micro-benchmark: run it once (-benchtime=1x).
//
//	go test -run '^$' -bench BenchmarkLoadMe -benchtime 1x ./e2e/
//
// LOAD_DURATION (default 10s) and LOAD_WORKERS (default 32) tune it;
// LOAD_REPORT names a file that receives a Markdown table of the results.
func BenchmarkLoadMe(b *testing.B) {
	duration := envDuration("LOAD_DURATION", 10*time.Second)
	workers := envInt("LOAD_WORKERS", 32)

	p := startPlatform(b)
	p.register(b, "loadtester")
	access, _ := p.login(b, "loadtester", patientPass)

	run := func(name, base string) *vegeta.Metrics {
		targeter := vegeta.NewStaticTargeter(vegeta.Target{
			Method: http.MethodGet, URL: base + "/api/v1/users/me/",
			Header: http.Header{"Authorization": {"Bearer " + access}},
		})
		attacker := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)),
			vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
		var m vegeta.Metrics
		for res := range attacker.Attack(targeter, vegeta.Rate{Freq: 0}, duration, name) {
			m.Add(res)
		}
		m.Close()
		if m.Success < 0.999 {
			b.Fatalf("%s: success ratio %.4f, errors %v, status codes %v", name, m.Success, m.Errors, m.StatusCodes)
		}
		return &m
	}
	for b.Loop() {
		direct := run("direct", p.user.URL)
		viaGateway := run("gateway", p.gw)
		b.ReportMetric(direct.Throughput, "direct_req/s")
		b.ReportMetric(viaGateway.Throughput, "gateway_req/s")
		b.ReportMetric(ms(viaGateway.Latencies.P50), "gateway_p50_ms")
		b.ReportMetric(ms(viaGateway.Latencies.P99), "gateway_p99_ms")
		b.ReportMetric(ms(direct.Latencies.P50), "direct_p50_ms")
		b.ReportMetric(ms(direct.Latencies.P99), "direct_p99_ms")
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			report := fmt.Sprintf("| path | requests/s | p50 | p99 | requests | success |\n|---|---|---|---|---|---|\n"+
				"| direct to user service | %.0f | %.2f ms | %.2f ms | %d | %.2f%% |\n"+
				"| through the gateway | %.0f | %.2f ms | %.2f ms | %d | %.2f%% |\n\n"+
				"Gateway/direct throughput ratio: **%.2f**; p50 added by the gateway: %.2f ms. "+
				"(%d workers, %s per path, keep-alive, one machine.)\n",
				direct.Throughput, ms(direct.Latencies.P50), ms(direct.Latencies.P99), direct.Requests, direct.Success*100,
				viaGateway.Throughput, ms(viaGateway.Latencies.P50), ms(viaGateway.Latencies.P99), viaGateway.Requests, viaGateway.Success*100,
				viaGateway.Throughput/direct.Throughput, ms(viaGateway.Latencies.P50)-ms(direct.Latencies.P50), workers, duration)
			if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}
