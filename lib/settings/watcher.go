package settings

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	consul "github.com/hashicorp/consul/api"

	"hospital/lib/consulwatch"
)

// Watcher follows Prefix in Consul KV with blocking queries (one query for
// every key a service watches) and hands each change to the Values watching
// it. A value changes in a service about as fast as Consul tells it: well
// under a second.
type Watcher struct {
	kv     *consul.KV
	prefix string
	log    *slog.Logger

	mu   sync.Mutex
	last map[string][]byte // the values of the last answer, by key name
	subs map[string][]subscriber

	ready chan struct{}
	once  sync.Once
}

type subscriber interface {
	apply(raw []byte, present bool)
}

// Options configure a Watcher.
type Options struct {
	// Prefix is the KV prefix (Prefix when empty; tests use their own).
	Prefix string
	Logger *slog.Logger
}

// NewWatcher returns a watcher of c's KV store; Run feeds it.
func NewWatcher(c *consul.Client, opts Options) *Watcher {
	if opts.Prefix == "" {
		opts.Prefix = Prefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Watcher{kv: c.KV(), prefix: opts.Prefix, log: opts.Logger,
		subs: map[string][]subscriber{}, ready: make(chan struct{})}
}

// Run follows the prefix until ctx ends. While Consul cannot be reached the
// values stay as they are (the fallbacks, before the first answer).
func (w *Watcher) Run(ctx context.Context) {
	consulwatch.Follow(ctx, consulwatch.Options{What: "settings " + w.prefix, Wait: time.Minute, Logger: w.log},
		func(opts *consul.QueryOptions) (*consul.QueryMeta, error) {
			pairs, meta, err := w.kv.List(w.prefix, opts)
			if err != nil {
				return nil, err
			}
			w.update(pairs)
			return meta, nil
		})
}

// Ready is closed once the values have been read from Consul.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Check is a readiness check: failing until the values have been read, so
// an instance does not bill with a stale fee because Consul had not
// answered yet.
func (w *Watcher) Check(context.Context) error {
	select {
	case <-w.ready:
		return nil
	default:
		return errors.New("live settings not read from consul yet")
	}
}

func (w *Watcher) update(pairs consul.KVPairs) {
	vals := make(map[string][]byte, len(pairs))
	for _, p := range pairs {
		name := strings.TrimPrefix(p.Key, w.prefix)
		if name == "" || strings.Contains(name, "/") {
			continue
		}
		vals[name] = p.Value
	}
	// Applied under the lock, so a Value registered meanwhile (Watch) can
	// never apply an older answer after a newer one.
	w.mu.Lock()
	prev := w.last
	w.last = vals
	for name, subs := range w.subs {
		old, had := prev[name]
		cur, has := vals[name]
		// Values start at their fallback: an absent key on the first
		// answer changes nothing.
		if had != has || !bytes.Equal(old, cur) {
			for _, s := range subs {
				s.apply(cur, has)
			}
		}
	}
	w.mu.Unlock()
	w.once.Do(func() { close(w.ready) })
}

// Value is the current value of one key in this service: the fallback until
// the key is set, then what Consul holds. Get is a single atomic load.
type Value[T any] struct {
	key      Key[T]
	fallback T
	log      *slog.Logger
	cur      atomic.Pointer[T]
	onChange atomic.Pointer[func(T)]
}

// Watch follows key through w; until the key is set (or when it is
// deleted) the value is fallback, the service's own setting. A value that
// does not parse (someone wrote the KV entry by hand) is logged and
// ignored: the previous value stays.
func Watch[T any](w *Watcher, key Key[T], fallback T) *Value[T] {
	v := &Value[T]{key: key, fallback: fallback, log: w.log}
	f := fallback
	v.cur.Store(&f)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs[key.Name()] = append(w.subs[key.Name()], v)
	if raw, present := w.last[key.Name()]; present {
		v.apply(raw, true)
	}
	return v
}

// OnChange registers fn, called with every new value (from the goroutine
// running the Watcher, which it must not call back).
func (v *Value[T]) OnChange(fn func(T)) *Value[T] {
	v.onChange.Store(&fn)
	return v
}

// Get is the value now.
func (v *Value[T]) Get() T { return *v.cur.Load() }

// apply runs under the Watcher's lock.
func (v *Value[T]) apply(raw []byte, present bool) {
	next := v.fallback
	source := "the service's own setting"
	if present {
		parsed, err := v.key.Parse(raw)
		if err != nil {
			v.log.Warn("live setting ignored: not a valid value", "key", v.key.Name(), "err", err.Error())
			return
		}
		next, source = parsed, "consul"
	}
	v.cur.Store(&next)
	v.log.Info("live setting applied", "key", v.key.Name(), "value", string(v.key.format(next)), "from", source)
	if fn := v.onChange.Load(); fn != nil {
		(*fn)(next)
	}
}
