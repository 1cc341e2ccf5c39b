// Package consulwatch follows something in Consul with blocking queries:
// one query after another, each waiting until the answer changes, backing
// off while Consul cannot be reached and keeping what was last seen
// meanwhile. Discovery (health of a service, the catalog), token
// revocations and live settings (KV prefixes) all follow Consul this way.
package consulwatch

import (
	"context"
	"log/slog"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// Query asks Consul once with opts (which carry the index of the last
// answer, so the call blocks until something changed) and handles the
// answer. It returns the answer's metadata, or the error that prevented one.
type Query func(opts *consul.QueryOptions) (*consul.QueryMeta, error)

// Options tune Follow; zero values take the defaults.
type Options struct {
	// What names the query in log lines ("health billing", "kv hospital/config/").
	What string
	// Wait is how long one query may block in Consul (30s).
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failed query; it
	// doubles with each failure in a row (250ms, 5s).
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Follow runs query until ctx ends. A failure is logged once per outage
// (not once per retry) and the recovery once; the caller keeps serving what
// query last stored, since Consul being briefly away is no reason to forget
// it.
func Follow(ctx context.Context, opts Options, query Query) {
	opts.defaults()
	var index uint64
	backoff := opts.MinBackoff
	failing := false
	for ctx.Err() == nil {
		q := (&consul.QueryOptions{WaitIndex: index, WaitTime: opts.Wait}).WithContext(ctx)
		meta, err := query(q)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				opts.Logger.Warn("consul query failed; keeping the last answer", "query", opts.What, "err", err.Error())
				failing = true
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(backoff*2, opts.MaxBackoff)
			continue
		}
		if failing {
			opts.Logger.Info("consul reachable again", "query", opts.What)
			failing = false
		}
		backoff = opts.MinBackoff
		index = NextIndex(index, meta)
	}
}

// NextIndex is the wait index of the query after one answered with meta.
// Consul may answer with an index that went backwards (a restored snapshot,
// a new leader): the next query then starts over from 0, as Consul's
// documentation asks; an index of 0 would not block at all, so it becomes 1.
func NextIndex(prev uint64, meta *consul.QueryMeta) uint64 {
	if meta == nil {
		return 0
	}
	next := meta.LastIndex
	if next < prev {
		return 0
	}
	return max(next, 1)
}

func (o *Options) defaults() {
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
