package svcclient

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"
)

// breaker is one downstream service's circuit breaker. What it counts is the
// service's health, not the quality of one caller's input: transport
// errors, timeouts and 502/503/504 are failures; every other answer,
// application 500s included, is a success; the caller's own cancellation or
// body errors are not counted at all.
type breaker = gobreaker.TwoStepCircuitBreaker[struct{}]

var (
	// errUnhealthy and errExcluded report an outcome to gobreaker.
	errUnhealthy = errors.New("service unhealthy")
	errExcluded  = errors.New("outcome not counted")
)

func verdict(o outcome) error {
	switch o {
	case unhealthy:
		return errUnhealthy
	case excluded:
		return errExcluded
	}
	return nil
}

// breakers holds one breaker per downstream service. A breaker can be
// replaced by a fresh, closed one (reset) when Consul reports a new passing
// instance: the service has come back, so waiting out the open time only
// delays recovery.
type breakers struct {
	settings gobreaker.Settings

	mu    sync.RWMutex
	slots map[string]*atomic.Pointer[breaker]
}

func newBreakers(failures uint32, settings gobreaker.Settings) *breakers {
	settings.MaxRequests = 1 // one successful probe closes an open breaker
	settings.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures }
	settings.IsExcluded = func(err error) bool { return errors.Is(err, errExcluded) }
	return &breakers{settings: settings, slots: map[string]*atomic.Pointer[breaker]{}}
}

func (b *breakers) newBreaker(service string) *breaker {
	s := b.settings
	s.Name = service
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](s)
}

func (b *breakers) get(service string) *breaker {
	b.mu.RLock()
	slot := b.slots[service]
	b.mu.RUnlock()
	if slot != nil {
		return slot.Load()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if slot = b.slots[service]; slot == nil {
		slot = &atomic.Pointer[breaker]{}
		slot.Store(b.newBreaker(service))
		b.slots[service] = slot
	}
	return slot.Load()
}

// reset replaces service's breaker with a closed one unless it is closed
// already, and returns the state it replaced.
func (b *breakers) reset(service string) (gobreaker.State, bool) {
	b.mu.RLock()
	slot := b.slots[service]
	b.mu.RUnlock()
	if slot == nil {
		return gobreaker.StateClosed, false
	}
	old := slot.Load()
	st := old.State()
	if st == gobreaker.StateClosed {
		return st, false
	}
	return st, slot.CompareAndSwap(old, b.newBreaker(service))
}
