package outbox

import (
	"time"

	"github.com/sony/gobreaker/v2"

	"hospital/lib/discovery"
)

// Why a target's lane is paused.
const (
	pauseBreaker    = "breaker"
	pauseNoInstance = "no_instance"
)

// target is the dispatcher's view of one receiving service. Guarded by
// Dispatcher.mu.
type target struct {
	running bool // a lane is claiming and delivering
	// pausedUntil: the target is known to be unavailable; nothing is sent
	// before then unless it is seen to recover first.
	pausedUntil time.Time
	reason      string
	// probe: the pause ran out; the lane first sends one message to learn
	// whether the target is back.
	probe bool
	// since, when set: the target recovered at this time; messages last
	// attempted before it are retried now, whatever their backoff.
	since time.Time
	// instances last reported by Consul; -1 until the first report.
	instances int
}

func (t *target) paused() bool { return !t.pausedUntil.IsZero() }

// resume ends a pause because the target was seen healthy.
func (t *target) resume(now time.Time) {
	t.pausedUntil, t.reason, t.probe = time.Time{}, "", false
	t.since = now
}

func (d *Dispatcher) target(name string) *target {
	t, ok := d.targets[name]
	if !ok {
		t = &target{instances: -1}
		d.targets[name] = t
	}
	return t
}

// pause holds back name's messages for wait (the lane stops after its batch).
func (d *Dispatcher) pause(name, reason string, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.target(name)
	now := time.Now().UTC()
	if reason == pauseNoInstance && t.instances > 0 {
		// Consul reported an instance between the failed pick and now.
		t.resume(now)
		return
	}
	until := now.Add(wait)
	if until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
	t.reason = reason
}

// maybeResume, called with mu held on every round: a paused target resumes
// at once when its breaker was closed meanwhile (by any call of this
// service), or with a probe once its pause has run out.
func (d *Dispatcher) maybeResume(name string, t *target, now time.Time) {
	if !t.paused() {
		return
	}
	if t.reason == pauseBreaker && d.client.BreakerState(name) == gobreaker.StateClosed {
		t.resume(now)
		return
	}
	if !now.Before(t.pausedUntil) {
		t.pausedUntil, t.reason, t.probe = time.Time{}, "", true
	}
}

// instancesChanged follows Consul (through the service's resolver): a
// target that gets a healthy instance after having none, or while paused
// for want of one, has its messages retried at once.
func (d *Dispatcher) instancesChanged(service string, instances []discovery.Instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, known := d.targets[service]
	if !known {
		return // never a target of ours
	}
	before := t.instances
	t.instances = len(instances)
	if len(instances) == 0 {
		return
	}
	if (t.paused() && t.reason == pauseNoInstance) || before == 0 {
		t.resume(time.Now().UTC())
		d.Kick()
	}
}

// available is told (by the client) that service may be called again: its
// breaker closed, or Consul reports a new passing instance. Its messages,
// whatever backoff they earned while it was down, go now.
func (d *Dispatcher) available(service string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, known := d.targets[service]
	if !known {
		return
	}
	t.resume(time.Now().UTC())
	d.Kick()
}
