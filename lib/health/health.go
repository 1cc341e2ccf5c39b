// Package health serves liveness and readiness. Liveness says the process
// runs; readiness says it can do its job (its database answers) and is what
// Consul checks, so an instance that loses its store leaves the pool.
package health

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"hospital/lib/httpx"
	"hospital/lib/problem"
)

// Check reports whether one dependency is usable.
type Check func(ctx context.Context) error

// Health holds the readiness checks and the draining flag.
type Health struct {
	checks   map[string]Check
	draining atomic.Bool
}

// New returns a Health running checks on readiness.
func New(checks map[string]Check) *Health {
	return &Health{checks: checks}
}

// Drain makes readiness fail so load balancers stop sending traffic.
func (h *Health) Drain() { h.draining.Store(true) }

// Live always answers 200 while the process serves HTTP.
func (h *Health) Live(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// CheckTimeout bounds one readiness run: below Consul's check timeout
// (CONSUL_CHECK_TIMEOUT, 2s by default), so Consul records which dependency
// failed rather than a timeout.
const CheckTimeout = 1500 * time.Millisecond

// Ready runs every check in parallel with a short timeout.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		problem.Write(w, r, problem.Unavailable("Shutting down.", time.Second))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), CheckTimeout)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		failed = map[string][]string{}
	)
	for name, check := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(ctx); err != nil {
				mu.Lock()
				failed[name] = []string{err.Error()}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		p := problem.Unavailable("Not ready.", 5*time.Second)
		p.Errors = failed
		problem.Write(w, r, p)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
