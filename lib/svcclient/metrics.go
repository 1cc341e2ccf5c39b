package svcclient

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are a client's counters. Counters for a (target, outcome) pair
// are looked up once and kept, so counting a call allocates nothing.
type metrics struct {
	calls        *prometheus.CounterVec
	breakerState *prometheus.GaugeVec
	ejections    *prometheus.CounterVec

	mu    sync.RWMutex
	cache map[[2]string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcclient_calls_total",
			Help: "Calls to other services, by target and outcome (ok, 5xx, timeout, canceled, transport_error, breaker_open, no_instance).",
		}, []string{"target", "outcome"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "svcclient_breaker_state", Help: "Circuit breaker state per target: 0 closed, 1 half-open, 2 open.",
		}, []string{"target"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcclient_outlier_ejections_total",
			Help: "Instances taken out of rotation, by target and reason (consecutive_failures, failure_ratio).",
		}, []string{"target", "reason"}),
		cache: map[[2]string]prometheus.Counter{},
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.breakerState, m.ejections)
	}
	return m
}

func (m *metrics) call(target, outcome string) {
	key := [2]string{target, outcome}
	m.mu.RLock()
	c := m.cache[key]
	m.mu.RUnlock()
	if c == nil {
		c = m.calls.WithLabelValues(target, outcome)
		m.mu.Lock()
		m.cache[key] = c
		m.mu.Unlock()
	}
	c.Inc()
}
