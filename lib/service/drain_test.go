package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hospital/lib/discovery"
	"hospital/lib/routemeta"
	"hospital/lib/service"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

// instance is one in-process instance of the "ledger" test service.
type instance struct {
	svc     *service.Service
	done    chan struct{} // closed when Run has returned
	err     error         // what Run returned
	stop    context.CancelFunc
	hits    atomic.Int64
	entered chan struct{} // a slow request has reached the handler
	release chan struct{} // lets slow requests finish
}

func startInstance(t *testing.T, c *testkit.Consul, drainDelay time.Duration) *instance {
	t.Helper()
	base := testBase(c)
	base.DrainDelay = drainDelay
	s, err := service.New("ledger", base)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{svc: s, done: make(chan struct{}), entered: make(chan struct{}, 1), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/ledger/", func(w http.ResponseWriter, r *http.Request) {
		in.hits.Add(1)
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /api/v1/ledger/slow/", func(w http.ResponseWriter, r *http.Request) {
		in.entered <- struct{}{}
		<-in.release
		_, _ = w.Write([]byte("finished"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	in.stop = cancel
	go func() {
		defer close(in.done)
		in.err = s.Run(ctx, service.Spec{Handler: mux, Routes: []routemeta.Route{{Pattern: "/api/v1/ledger/*"}}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
		}
	})
	return in
}

// Stopping an instance (what SIGTERM does) while a caller sends a steady
// stream of non-idempotent requests through discovery, and a slow request is
// in flight: the instance leaves Consul first and never comes back, keeps
// its listener open until callers have seen that, lets the slow request
// finish, and not one request of the stream fails.
func TestStopLeavesConsulThenDrains(t *testing.T) {
	c := testkit.StartConsul(t)
	a := startInstance(t, c, time.Second)
	b := startInstance(t, c, 100*time.Millisecond)
	c.WaitPassing(t, "ledger", 2, 15*time.Second)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := svcclient.New("tester", discovery.New(ctx, c.Client, log), svcclient.Options{Logger: log})

	// The stream: POSTs are never retried, so any request that reaches a
	// closed port or a stopped server is a failure.
	var (
		sent, failed atomic.Int64
		mu           sync.Mutex
		firstErr     error
	)
	streamDone := make(chan struct{})
	streamCtx, stopStream := context.WithCancel(context.Background())
	go func() {
		defer close(streamDone)
		for streamCtx.Err() == nil {
			sent.Add(1)
			resp, err := client.Do(context.Background(), svcclient.Request{Service: "ledger", Method: http.MethodPost, Path: "/api/v1/ledger/", Body: []byte(`{}`)})
			if err == nil && resp.Status != http.StatusCreated {
				err = fmt.Errorf("status %d", resp.Status)
			}
			if err != nil {
				failed.Add(1)
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}
	}()
	waitFor(t, "both instances take traffic", func() error {
		if a.hits.Load() < 5 || b.hits.Load() < 5 {
			return fmt.Errorf("hits a=%d b=%d", a.hits.Load(), b.hits.Load())
		}
		return nil
	})

	// A slow request in flight on a.
	slow := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + a.svc.Addr + "/api/v1/ledger/slow/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "finished" {
				err = fmt.Errorf("slow request: %d %q", resp.StatusCode, body)
			}
		}
		slow <- err
	}()
	<-a.entered

	a.stop()
	waitFor(t, "a leaves consul", func() error {
		if registered(c, a.svc.InstanceID) {
			return errors.New("still registered")
		}
		return nil
	})
	// Gone from Consul, yet still listening: a caller with a stale view is served.
	if code := postTo(t, a.svc.Addr); code != http.StatusCreated {
		t.Fatalf("a refused a request right after leaving consul: %d", code)
	}
	// From now on the stream reaches b only.
	hitsAtLeave := a.hits.Load()

	// While the slow request holds the drain open, a never registers again
	// (it used to: its re-registration loop ran until the drain ended).
	reappeared := make(chan bool, 1)
	go func() {
		for {
			select {
			case <-a.done:
				reappeared <- false
				return
			case <-time.After(50 * time.Millisecond):
			}
			if registered(c, a.svc.InstanceID) {
				reappeared <- true
				return
			}
		}
	}()
	waitFor(t, "a's listener closes while the slow request runs", func() error {
		conn, err := net.DialTimeout("tcp", a.svc.Addr, time.Second)
		if err == nil {
			conn.Close()
			return errors.New("still accepting connections")
		}
		return nil
	})
	close(a.release)
	if err := <-slow; err != nil {
		t.Fatalf("the in-flight request did not complete: %v", err)
	}
	if <-reappeared {
		t.Fatal("a draining instance registered itself in consul again")
	}
	<-a.done
	if a.err != nil {
		t.Fatal(a.err)
	}
	// A few more requests, all to b.
	bHits := b.hits.Load()
	waitFor(t, "b serves the stream", func() error {
		if b.hits.Load() < bHits+5 {
			return errors.New("b is not receiving the stream")
		}
		return nil
	})
	stopStream()
	<-streamDone
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the stop; first: %v", failed.Load(), sent.Load(), firstErr)
	}
	// Stream requests routed from a view of Consul older than the
	// deregistration were served within the drain delay (none failed).
	if late := a.hits.Load() - hitsAtLeave; late > 0 {
		t.Logf("%d stream requests reached a after it left consul (served within its drain delay)", late)
	}
}

func registered(c *testkit.Consul, id string) bool {
	svc, _, err := c.Client.Agent().Service(id, nil)
	return err == nil && svc != nil
}

func postTo(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/api/v1/ledger/", "application/json", nil)
	if err != nil {
		t.Fatalf("POST to %s: %v", addr, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	if err := testkit.Until(context.Background(), 15*time.Second, nil, func(context.Context) error { return cond() }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
