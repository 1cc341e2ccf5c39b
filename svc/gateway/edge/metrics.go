package edge

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// upstreamMetrics counts forwarded requests by target and upstream status
// (or outcome). Counters are looked up once per pair and kept, so counting
// a request allocates nothing.
type upstreamMetrics struct {
	calls *prometheus.CounterVec

	mu    sync.RWMutex
	cache map[upstreamKey]prometheus.Counter
}

type upstreamKey struct {
	service string
	status  int
	outcome string
}

func newUpstreamMetrics() *upstreamMetrics {
	return &upstreamMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_requests_total",
			Help: "Requests forwarded by the gateway, by target service and upstream status code (or timeout, unavailable, canceled, bad_body, error).",
		}, []string{"service", "code"}),
		cache: map[upstreamKey]prometheus.Counter{},
	}
}

func (m *upstreamMetrics) count(service string, status int) {
	m.get(upstreamKey{service: service, status: status}).Inc()
}

func (m *upstreamMetrics) countOutcome(service, outcome string) {
	m.get(upstreamKey{service: service, outcome: outcome}).Inc()
}

func (m *upstreamMetrics) get(k upstreamKey) prometheus.Counter {
	m.mu.RLock()
	c := m.cache[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	code := k.outcome
	if code == "" {
		code = strconv.Itoa(k.status)
	}
	c = m.calls.WithLabelValues(k.service, code)
	m.mu.Lock()
	m.cache[k] = c
	m.mu.Unlock()
	return c
}
