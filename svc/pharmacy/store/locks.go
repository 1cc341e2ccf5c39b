package store

import (
	"context"
	"sync"
)

// locks serialises, within this process, the changes to one versioned
// document. Correctness does not depend on it (the versioned store lets one
// change in per version, whatever the number of writers): it spares the
// writers of one instance from racing each other for the same version, where
// all but one would insert in vain and decide again. Under 32 concurrent
// dispenses of one medication that is most of the work.
type locks struct {
	mu   sync.Mutex
	held map[string]*entry
}

type entry struct {
	slot  chan struct{} // holds a token while the lock is taken
	users int
}

// lock takes the lock of key, or gives up when ctx ends, and returns its
// release.
func (l *locks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*entry{}
	}
	e := l.held[key]
	if e == nil {
		e = &entry{slot: make(chan struct{}, 1)}
		l.held[key] = e
	}
	e.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if e.users--; e.users == 0 {
			delete(l.held, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.slot <- struct{}{}:
		return func() { <-e.slot; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}
