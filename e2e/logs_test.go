package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/testkit"
)

// TestLogsReachCentralSink runs VictoriaLogs (the local stand-in for Loki: it
// speaks the Loki push API) and finds one request's log lines from both the
// gateway and the user service by its request ID.
func TestLogsReachCentralSink(t *testing.T) {
	bin, err := testkit.Binary("victoria-logs")
	if err != nil {
		t.Fatal(err)
	}
	port := testkit.MustFreePort(t)
	dir := t.TempDir()
	vl, err := testkit.Start(dir, "victoria-logs", bin, []string{
		"-storageDataPath=" + dir + "/data", "-httpListenAddr=127.0.0.1:" + strconv.Itoa(port), "-loggerLevel=WARN",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vl.Stop(10 * time.Second) })
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := testkit.Until(context.Background(), 30*time.Second, vl, testkit.HTTPOK(base+"/health")); err != nil {
		t.Fatal(err)
	}

	p := startPlatform(t, "LOKI_PUSH_URL="+base+"/insert/loki/api/v1/push")
	reqID := "e2e-trace-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	r := p.do(t, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": adminUser, "password": adminPass},
		map[string]string{"X-Request-ID": reqID})
	expect(t, "login", r, http.StatusOK)
	if r.header.Get("X-Request-ID") != reqID {
		t.Fatalf("gateway did not echo the request id: %q", r.header.Get("X-Request-ID"))
	}

	err = testkit.Until(context.Background(), 30*time.Second, nil, func(ctx context.Context) error {
		q := url.Values{"query": {"request_id:" + strconv.Quote(reqID)}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/select/logsql/query", strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		s := string(body)
		for _, svc := range []string{`"service":"gateway"`, `"service":"user"`} {
			if !strings.Contains(s, svc) {
				return fmt.Errorf("no %s line for %s yet: %s", svc, reqID, s)
			}
		}
		if strings.Contains(s, adminPass) {
			t.Fatalf("a password reached the central log: %s", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
