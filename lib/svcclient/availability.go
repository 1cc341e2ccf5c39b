package svcclient

import (
	"time"

	"github.com/sony/gobreaker/v2"

	"hospital/lib/discovery"
)

// instancesChanged follows Consul's passing instances of every service this
// client calls: instances that left are forgotten by outlier ejection, and a
// new passing instance closes the service's breaker at once (the service is
// back; waiting out the open time would only delay recovery).
func (c *Client) instancesChanged(service string, instances []discovery.Instance) {
	ids := make(map[string]bool, len(instances))
	for _, in := range instances {
		ids[in.ID] = true
	}
	c.mu.Lock()
	prev := c.known[service]
	c.known[service] = ids
	c.mu.Unlock()
	c.outliers.keep(service, ids)

	arrived := false
	for id := range ids {
		if !prev[id] {
			arrived = true
			break
		}
	}
	if !arrived {
		return
	}
	if from, ok := c.breakers.reset(service); ok {
		c.breakerState(service, from, gobreaker.StateClosed, "new passing instance")
	}
	c.available(service)
}

// breakerChanged is gobreaker's OnStateChange.
func (c *Client) breakerChanged(service string, from, to gobreaker.State) {
	c.breakerState(service, from, to, "")
	if to == gobreaker.StateClosed {
		c.available(service)
	}
}

func (c *Client) breakerState(service string, from, to gobreaker.State, why string) {
	c.metrics.breakerState.WithLabelValues(service).Set(float64(to))
	args := []any{"target", service, "from", from.String(), "to", to.String()}
	if why != "" {
		args = append(args, "why", why)
	}
	c.log.Warn("circuit breaker state changed", args...)
}

func (c *Client) available(service string) {
	c.mu.Lock()
	fns := append([]func(string){}, c.onAvailable...)
	c.mu.Unlock()
	for _, fn := range fns {
		go fn(service)
	}
}

// BreakerState reports a downstream's breaker state (for tests and health pages).
func (c *Client) BreakerState(service string) gobreaker.State {
	return c.breakers.get(service).State()
}

// Ejected reports whether an instance of service is out of rotation now.
func (c *Client) Ejected(service, instanceID string) bool {
	return c.outliers.ejected(service, instanceID, time.Now())
}
