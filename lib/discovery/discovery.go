// Package discovery keeps a cached view of the healthy instances of each
// service, fed by Consul blocking queries, and hands them out round-robin.
// No service address is configured anywhere: everything is found here.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Instance is one healthy instance of a service.
type Instance struct {
	ID      string
	Service string
	Address string // host:port
	Meta    map[string]string
}

// ErrNoInstances means the service has no passing instance right now.
var ErrNoInstances = errors.New("no healthy instances")

// Resolver watches services in Consul.
type Resolver struct {
	client *consul.Client
	ctx    context.Context
	log    *slog.Logger

	mu       sync.RWMutex
	watches  map[string]*watch
	onChange []func(service string, instances []Instance)
}

type watch struct {
	ready chan struct{} // closed after the first answer from Consul
	once  sync.Once
	next  atomic.Uint64

	mu        sync.RWMutex
	instances []Instance
}

// New returns a resolver whose watches live until ctx ends.
func New(ctx context.Context, client *consul.Client, log *slog.Logger) *Resolver {
	return &Resolver{client: client, ctx: ctx, log: log, watches: map[string]*watch{}}
}

// OnChange registers fn, called with a service's new instance list after
// every change (the gateway rebuilds its routes from it).
func (r *Resolver) OnChange(fn func(service string, instances []Instance)) {
	r.mu.Lock()
	r.onChange = append(r.onChange, fn)
	r.mu.Unlock()
}

// Instances returns the current healthy instances of service, waiting (up to
// ctx) for the first answer from Consul if the service is new to us.
func (r *Resolver) Instances(ctx context.Context, service string) ([]Instance, error) {
	w := r.watch(service)
	select {
	case <-w.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("discover %s: %w", service, ctx.Err())
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.instances, nil
}

// Pick returns the next healthy instance of service, round-robin; avoid lists
// instance IDs to skip when others exist (a retry should try another one).
func (r *Resolver) Pick(ctx context.Context, service string, avoid ...string) (Instance, error) {
	return r.PickFunc(ctx, service, func(in Instance) bool { return slices.Contains(avoid, in.ID) })
}

// PickFunc returns the next healthy instance of service, round-robin, for
// which avoid is false; when avoid refuses every instance it returns the next
// one all the same (whether to send anything is the caller's breaker's call,
// not discovery's). avoid may be nil.
func (r *Resolver) PickFunc(ctx context.Context, service string, avoid func(Instance) bool) (Instance, error) {
	w := r.watch(service)
	select {
	case <-w.ready:
	case <-ctx.Done():
		return Instance{}, fmt.Errorf("discover %s: %w", service, ctx.Err())
	}
	w.mu.RLock()
	inst := w.instances
	w.mu.RUnlock()
	if len(inst) == 0 {
		return Instance{}, fmt.Errorf("discover %s: %w", service, ErrNoInstances)
	}
	n := int(w.next.Add(1) % uint64(len(inst)))
	if avoid != nil {
		for i := range inst {
			if cand := inst[(n+i)%len(inst)]; !avoid(cand) {
				return cand, nil
			}
		}
	}
	return inst[n], nil
}

// Watch starts following service without waiting for it.
func (r *Resolver) Watch(service string) { r.watch(service) }

func (r *Resolver) watch(service string) *watch {
	// Every call looks its service up here: the common case takes a read lock.
	r.mu.RLock()
	w, ok := r.watches[service]
	r.mu.RUnlock()
	if ok {
		return w
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.watches[service]; ok {
		return w
	}
	w = &watch{ready: make(chan struct{})}
	r.watches[service] = w
	go r.follow(service, w)
	return w
}

// follow keeps w's instances in step with Consul's passing instances of
// service and tells OnChange callbacks about every change.
func (r *Resolver) follow(service string, w *watch) {
	r.blockingLoop("health "+service, func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
		entries, meta, err := r.client.Health().Service(service, "", true, opts)
		if err != nil {
			return nil, err
		}
		inst := toInstances(service, entries)
		w.mu.Lock()
		changed := !sameInstances(w.instances, inst)
		w.instances = inst
		w.mu.Unlock()
		w.once.Do(func() { close(w.ready) })
		if changed {
			r.mu.Lock()
			fns := slices.Clone(r.onChange)
			r.mu.Unlock()
			for _, fn := range fns {
				fn(service, inst)
			}
		}
		return meta, nil
	})
}

// blockingLoop runs one Consul blocking query after another until the
// resolver's context ends. query gets the options carrying the last index and
// handles the answer; on errors the loop backs off, keeping what query last
// stored (Consul being briefly away is no reason to forget healthy services).
func (r *Resolver) blockingLoop(what string, query func(opts *consul.QueryOptions) (*consul.QueryMeta, error)) {
	var index uint64
	backoff := 250 * time.Millisecond
	for r.ctx.Err() == nil {
		opts := (&consul.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}).WithContext(r.ctx)
		meta, err := query(opts)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.log.Warn("consul query failed", "query", what, "err", err.Error())
			select {
			case <-time.After(backoff):
			case <-r.ctx.Done():
				return
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		// Consul may return an index that goes backwards; start over then.
		if meta.LastIndex < index {
			index = 0
		} else {
			index = meta.LastIndex
		}
	}
}

func toInstances(service string, entries []*consul.ServiceEntry) []Instance {
	out := make([]Instance, 0, len(entries))
	for _, e := range entries {
		addr := e.Service.Address
		if addr == "" {
			addr = e.Node.Address
		}
		out = append(out, Instance{
			ID: e.Service.ID, Service: service,
			Address: net.JoinHostPort(addr, strconv.Itoa(e.Service.Port)),
			Meta:    e.Service.Meta,
		})
	}
	slices.SortFunc(out, func(a, b Instance) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

func sameInstances(a, b []Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Address != b[i].Address || !maps.Equal(a[i].Meta, b[i].Meta) {
			return false
		}
	}
	return true
}

// WatchCatalog follows the list of registered service names, starts a watch
// for each (so OnChange callbacks see every service) and, when fn is not nil,
// calls fn with the full set of names after each change of the catalog.
func (r *Resolver) WatchCatalog(fn func(names map[string]bool)) {
	go r.blockingLoop("catalog", func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
		services, meta, err := r.client.Catalog().Services(opts)
		if err != nil {
			return nil, err
		}
		names := make(map[string]bool, len(services))
		for name := range services {
			names[name] = true
			r.Watch(name)
		}
		if fn != nil {
			fn(names)
		}
		return meta, nil
	})
}
