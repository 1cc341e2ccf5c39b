package settings

import (
	"bytes"
	"context"
	"fmt"

	consul "github.com/hashicorp/consul/api"
)

// Publisher writes values for the Watchers (the admin service).
type Publisher struct {
	kv     *consul.KV
	prefix string
}

// NewPublisher writes under prefix ("" is Prefix).
func NewPublisher(c *consul.Client, prefix string) *Publisher {
	if prefix == "" {
		prefix = Prefix
	}
	return &Publisher{kv: c.KV(), prefix: prefix}
}

// Published is what Consul holds for one key.
type Published struct {
	Value   []byte
	Version uint64
}

// Current lists what Consul holds under the prefix, by key name.
func (p *Publisher) Current(ctx context.Context) (map[string]Published, error) {
	pairs, _, err := p.kv.List(p.prefix, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p.prefix, err)
	}
	out := make(map[string]Published, len(pairs))
	for _, pair := range pairs {
		out[pair.Key[len(p.prefix):]] = Published{Value: pair.Value, Version: pair.Flags}
	}
	return out, nil
}

// Publish sets name to value at version unless Consul holds a later
// version already: two instances publishing two changes at once leave the
// later one, whatever order their writes land in (check-and-set on the
// pair's modify index; the version rides in the pair's Flags). It reports
// whether Consul now holds this version.
func (p *Publisher) Publish(ctx context.Context, name string, value []byte, version uint64) (bool, error) {
	key := p.prefix + name
	opts := (&consul.QueryOptions{}).WithContext(ctx)
	wopts := (&consul.WriteOptions{}).WithContext(ctx)
	for range 10 {
		cur, _, err := p.kv.Get(key, opts)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", key, err)
		}
		pair := &consul.KVPair{Key: key, Value: value, Flags: version}
		if cur != nil {
			if cur.Flags > version {
				return false, nil
			}
			if cur.Flags == version && bytes.Equal(cur.Value, value) {
				return true, nil
			}
			pair.ModifyIndex = cur.ModifyIndex
		}
		ok, _, err := p.kv.CAS(pair, wopts)
		if err != nil {
			return false, fmt.Errorf("write %s: %w", key, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, fmt.Errorf("write %s: lost the check-and-set race ten times", key)
}
