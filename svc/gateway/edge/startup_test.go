package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/routemeta"
	"hospital/lib/testkit"
)

// gate is a TCP forwarder to a real Consul agent that holds every
// connection until it is opened: a Consul that has not answered yet.
type gate struct {
	addr string
	open chan struct{}
	once sync.Once
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{addr: ln.Addr().String(), open: make(chan struct{})}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	// Idle keep-alive connections of the stopped gateway's Consul client
	// would hold the copies open for the client's idle timeout (90 s).
	t.Cleanup(func() {
		ln.Close()
		g.Open()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				<-g.open
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, conn); up.Close() }()
				_, _ = io.Copy(conn, up)
			}()
		}
	}()
	return g
}

func (g *gate) Open() { g.once.Do(func() { close(g.open) }) }

// TestNoAnswerBeforeRoutesLoaded: a gateway whose Consul has not answered
// yet accepts connections but answers 503 with Retry-After (never a 404),
// and is not ready; once Consul answers it routes and is ready.
func TestNoAnswerBeforeRoutesLoaded(t *testing.T) {
	c := testkit.StartConsul(t)
	signer, _ := newSigner(t)
	startUpstream(t, c, "user", []routemeta.Route{{Pattern: "/api/v1/users/*", Public: []string{"GET"}}}, userStub(signer, nil))
	g := newGate(t, c.Addr)
	cfg := testConfig(c)
	cfg.ConsulAddr = g.addr
	gw := newGateway(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.svc.Run(ctx, gw.Spec()) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := testkit.Until(ctx, 10*time.Second, nil, testkit.TCPOpen(strings.TrimPrefix(gw.URL, "http://"))); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/api/v1/users/me/", "/api/v1/nothing/here/"} {
		resp, body := call(t, http.MethodGet, gw.URL+path, nil)
		problemBody(t, resp, body, http.StatusServiceUnavailable)
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", path)
		}
	}
	resp, _ := call(t, http.MethodGet, gw.OpsURL+"/healthz/ready", nil)
	if resp.StatusCode == http.StatusOK {
		t.Fatal("ready before the routing table was loaded")
	}

	g.Open()
	waitServedBy(t, gw.URL+"/api/v1/users/x", "user")
	waitStatus(t, http.MethodGet, gw.OpsURL+"/healthz/ready", http.StatusOK)
	resp, body := call(t, http.MethodGet, gw.URL+"/api/v1/nothing/here/", nil)
	problemBody(t, resp, body, http.StatusNotFound)
}
