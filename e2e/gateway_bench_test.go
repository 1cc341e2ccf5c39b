package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"hospital/lib/testkit"
)

// BenchmarkGatewayVsNginx measures the gateway against nginx in front of the
// same upstream, in the same run (issue 15, goal 1): the user service's JWKS
// document straight from the service, through nginx (Debian nginx-light, one
// worker, upstream keepalive, no auth), through the gateway without a token,
// and through the gateway with a bearer token it verifies. Peak rates come
// from wrk (-t1 -c32) when it is installed, else from vegeta; then each path
// is run paced at half of nginx's peak, for the latency each proxy adds (p99
// over the direct path's). It is a load run: -benchtime=1x.
//
//	cd e2e && go test -run '^$' -bench BenchmarkGatewayVsNginx -benchtime 1x ./
//
// Needs nginx (apt-get install -y nginx-light; wrk is optional). LOAD_DURATION
// (default 8s) is each run's length, LOAD_REPORT names a Markdown report, and
// GATEWAY_PPROF=file writes a 5 s CPU profile of the gateway taken during
// its peak run with a token.
func BenchmarkGatewayVsNginx(b *testing.B) {
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			b.Fatal("nginx not found: apt-get install -y nginx-light")
		}
		nginxBin = "/usr/sbin/nginx"
	}
	duration := envDuration("LOAD_DURATION", 8*time.Second)
	pprofPort := testkit.MustFreePort(b)
	p := startPlatform(b, "PPROF_ADDR=127.0.0.1:"+strconv.Itoa(pprofPort))
	p.register(b, "benchgw")
	access, _ := p.login(b, "benchgw", patientPass)
	const path = "/api/v1/users/.well-known/jwks.json"
	nginxURL := startNginx(b, nginxBin, p.user.Addr)

	type target struct {
		name, base, token string
	}
	targets := []target{
		{"direct to the user service", p.user.URL, ""},
		{"nginx (no auth)", nginxURL, ""},
		{"gateway, no token", p.gw, ""},
		{"gateway, bearer token verified", p.gw, access},
	}
	for _, tg := range targets {
		if r := peak(b, tg.base+path, tg.token, time.Second); r.rate == 0 {
			b.Fatalf("%s: warm-up failed", tg.name)
		}
	}
	b.Logf("user %s, nginx %s, gateway %s", p.user.URL, nginxURL, p.gw)
	for b.Loop() {
		peaks := make([]loadResult, len(targets))
		for i, tg := range targets {
			if i == len(targets)-1 && os.Getenv("GATEWAY_PPROF") != "" {
				go saveProfile(b, pprofPort, os.Getenv("GATEWAY_PPROF"))
			}
			peaks[i] = peak(b, tg.base+path, tg.token, duration)
			b.Logf("%s: peak %.0f req/s", tg.name, peaks[i].rate)
		}
		// The paced runs' generator (vegeta, in this process) costs more CPU
		// per request than wrk: half of nginx's peak as vegeta itself can
		// drive it keeps the generator from being the bottleneck.
		vnginx := gwAttack(b, nginxURL+path, "", vegeta.Rate{Freq: 0}, duration, 32)
		half := vnginx.Throughput / 2
		paced := make([]loadResult, len(targets))
		for i, tg := range targets {
			paced[i] = pacedRun(b, tg.base+path, tg.token, half, duration)
		}
		nginxPeak, gwPeak := peaks[1].rate, peaks[3].rate
		b.ReportMetric(nginxPeak, "nginx_req/s")
		b.ReportMetric(gwPeak, "gateway_token_req/s")
		b.ReportMetric(gwPeak/nginxPeak, "gateway/nginx")
		b.ReportMetric(ms(paced[3].p99-paced[0].p99), "gateway_added_p99_ms")
		b.ReportMetric(ms(paced[1].p99-paced[0].p99), "nginx_added_p99_ms")

		var rep strings.Builder
		fmt.Fprintf(&rep, "| path | peak req/s | vs nginx | p50 at %.0f req/s | p99 at %.0f req/s | p99 added over direct | answered at that rate |\n|---|---|---|---|---|---|---|\n", half, half)
		for i, tg := range targets {
			fmt.Fprintf(&rep, "| %s | %.0f | %.2f× | %.2f ms | %.2f ms | %.2f ms | %.1f%% |\n", tg.name, peaks[i].rate, peaks[i].rate/nginxPeak,
				ms(paced[i].p50), ms(paced[i].p99), ms(paced[i].p99-paced[0].p99), paced[i].success*100)
		}
		fmt.Fprintf(&rep, "\nPeak: %s, %s per path. Paced: vegeta at half of nginx's peak as vegeta drives it (%.0f req/s), %s per path. The gateway routes from Consul and verifies the token (EdDSA) on the last row.\n",
			peaks[0].tool, duration, vnginx.Throughput, duration)
		b.Log("\n" + rep.String())
		if out := os.Getenv("LOAD_REPORT"); out != "" {
			if err := os.WriteFile(out, []byte(rep.String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type loadResult struct {
	tool     string
	rate     float64
	p50, p99 time.Duration
	success  float64
}

// startNginx runs nginx with one worker in front of upstream (host:port),
// with keepalive connections to it, as the peer the gateway is measured
// against; it returns nginx's base URL.
func startNginx(b *testing.B, bin, upstream string) string {
	dir := b.TempDir()
	port := testkit.MustFreePort(b)
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log %[1]s/access.log;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream backend { server %[2]s; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, upstream, port)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	proc, err := testkit.Start(dir, "nginx", bin, []string{"-p", dir, "-c", path, "-g", "daemon off; user root;"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = proc.Stop(10 * time.Second) })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := testkit.Until(b.Context(), 10*time.Second, proc, testkit.HTTPOK(url+"/api/v1/users/.well-known/jwks.json")); err != nil {
		b.Fatalf("nginx: %v\n%s", err, proc.Tail(2000))
	}
	return url
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
	wrkNon2 = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// peak drives url as fast as it answers: wrk -t1 -c32 if installed, else
// vegeta with 32 workers.
func peak(b *testing.B, url, token string, d time.Duration) loadResult {
	if wrk, err := exec.LookPath("wrk"); err == nil {
		args := []string{"-t1", "-c32", "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
		if token != "" {
			args = append(args, "-H", "Authorization: Bearer "+token)
		}
		out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
		if err != nil {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		if m := wrkNon2.FindSubmatch(out); m != nil {
			b.Fatalf("wrk %s: %s non-2xx answers\n%s", url, m[1], out)
		}
		r := loadResult{tool: "wrk -t1 -c32"}
		if m := wrkRate.FindSubmatch(out); m != nil {
			r.rate, _ = strconv.ParseFloat(string(m[1]), 64)
		}
		for _, m := range wrkPct.FindAllSubmatch(out, -1) {
			v, _ := strconv.ParseFloat(string(m[2]), 64)
			unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
			if string(m[1]) == "50" {
				r.p50 = time.Duration(v * float64(unit))
			} else {
				r.p99 = time.Duration(v * float64(unit))
			}
		}
		return r
	}
	m := gwAttack(b, url, token, vegeta.Rate{Freq: 0}, d, 32)
	return loadResult{tool: "vegeta, 32 workers", rate: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99}
}

// pacedRun sends rate requests/s to url for d and reports the latencies
// and the share answered: a path that cannot keep up at that rate shows
// it in the report rather than failing the run.
func pacedRun(b *testing.B, url, token string, rate float64, d time.Duration) loadResult {
	m := gwAttack(b, url, token, vegeta.Rate{Freq: int(rate), Per: time.Second}, d, 16)
	return loadResult{tool: "vegeta", rate: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, success: m.Success}
}

func gwAttack(b *testing.B, url, token string, rate vegeta.Rate, d time.Duration, workers uint64) *vegeta.Metrics {
	hdr := http.Header{}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url, Header: hdr})
	opts := []func(*vegeta.Attacker){vegeta.Workers(workers), vegeta.KeepAlive(true), vegeta.Timeout(5 * time.Second)}
	if rate.Freq == 0 {
		opts = append(opts, vegeta.MaxWorkers(workers))
	}
	var m vegeta.Metrics
	for res := range vegeta.NewAttacker(opts...).Attack(targeter, rate, d, url) {
		m.Add(res)
	}
	m.Close()
	if rate.Freq == 0 && m.Success < 0.999 {
		b.Fatalf("%s (rate %v): success %.4f, status codes %v, first errors %v", url, rate, m.Success, m.StatusCodes, m.Errors[:min(3, len(m.Errors))])
	}
	return &m
}

func saveProfile(b *testing.B, port int, file string) {
	time.Sleep(time.Second)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=5", port))
	if err != nil {
		b.Logf("pprof: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		b.Logf("pprof: %v", err)
		return
	}
	defer f.Close()
	_, _ = f.ReadFrom(resp.Body)
}
