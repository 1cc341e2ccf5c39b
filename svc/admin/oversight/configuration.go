package oversight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path"
	"slices"
	"strings"

	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/settings"
)

// maxValue bounds a configuration's JSON value (Consul's own limit is
// 512 KiB per key).
const maxValue = 64 << 10

// Configurations lists the platform's documented keys (set or not) and
// every extra key that was set, by key.
func (s *Service) Configurations(ctx context.Context) ([]Configuration, error) {
	stored, err := s.store.Configurations(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Configuration{}
	for _, c := range stored {
		byKey[c.Key] = c
	}
	var out []Configuration
	for _, d := range settings.Catalog() {
		if c, ok := byKey[d.Name()]; ok {
			out = append(out, documented(c, d))
			delete(byKey, d.Name())
			continue
		}
		out = append(out, unset(d))
	}
	for _, c := range byKey {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Configuration) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Configuration returns one key: its stored value, or for a documented key
// never set, the default the services use meanwhile.
func (s *Service) Configuration(ctx context.Context, key string) (Configuration, error) {
	if !validKeyName(key) {
		return Configuration{}, errConfigNotFound
	}
	def, known := settings.Lookup(key)
	c, err := s.store.Configuration(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound) && known:
		return unset(def), nil
	case errors.Is(err, ErrNotFound):
		return Configuration{}, errConfigNotFound
	case err != nil:
		return Configuration{}, err
	case known:
		return documented(c, def), nil
	}
	return c, nil
}

// PutConfiguration sets key to in.Value: a documented key's value must be
// valid for it (and is stored normalized); any other key must be allowed by
// SYSTEM_CONFIG_EXTRA_KEYS. The change and its audit entry (old and new
// value) commit together; the value then goes to Consul KV, where the
// services pick it up. A PUT that changes nothing changes nothing (no new
// version, no entry).
func (s *Service) PutConfiguration(ctx context.Context, key string, in ConfigurationRequest) (Configuration, error) {
	c, err := auth.Caller(ctx)
	if err != nil {
		return Configuration{}, err
	}
	if !validKeyName(key) {
		return Configuration{}, errBadKeyName
	}
	if in.Key != "" && in.Key != key {
		return Configuration{}, errKeyMismatch
	}
	def, known := settings.Lookup(key)
	if !known && !s.extraAllowed(key) {
		return Configuration{}, errUnknownKey
	}
	value, err := normalizeValue(def, in.Value)
	if err != nil {
		return Configuration{}, err
	}
	var saved Configuration
	changed := false
	err = s.store.InTx(ctx, func(tx Tx) error {
		cur, exists, err := tx.LockConfiguration(ctx, key)
		if err != nil {
			return err
		}
		desc := cur.Description
		switch {
		case in.Description != nil:
			desc = strings.TrimSpace(*in.Description)
		case !exists && known:
			desc = def.Description()
		}
		if exists && bytes.Equal(cur.Value, value) && cur.Description == desc {
			saved, changed = cur, false
			return nil
		}
		now := microseconds(s.now())
		next := Configuration{Key: key, Value: value, Description: desc, Set: true, Version: cur.Version + 1,
			UpdatedAt: &now, UpdatedBy: positive(c.UserID)}
		if err := tx.SaveConfiguration(ctx, next); err != nil {
			return err
		}
		var old any // null: the key was not set
		if exists {
			old = json.RawMessage(cur.Value)
		}
		ev := audit.New(ctx, ServiceName, actionConfigUpdate).On("system_configuration", key).
			With("old_value", old).With("new_value", json.RawMessage(value)).With("version", next.Version)
		if exists && cur.Description != desc {
			ev = ev.With("description_changed", true)
		}
		e, err := entryFrom(ev)
		if err != nil {
			return err
		}
		if _, _, err := appendEntries(ctx, tx, []Entry{e}, now); err != nil {
			return err
		}
		saved, changed = next, true
		return nil
	})
	if err != nil {
		return Configuration{}, err
	}
	if changed {
		published, err := s.publisher.Publish(ctx, key, saved.Value, uint64(saved.Version))
		if err != nil {
			// Stored and audited; the sync publishes it when Consul answers.
			s.log.Warn("configuration saved but not yet published to consul", "key", key, "version", saved.Version, "err", err.Error())
		}
		saved.Published = &published
	}
	if known {
		saved = documented(saved, def)
	}
	return saved, nil
}

// SyncConfigurations makes Consul hold every stored configuration at its
// version: it publishes what a failed publish, a new Consul cluster or a
// hand edit left behind. Every instance runs it; publishing is
// idempotent, and a later version always wins.
func (s *Service) SyncConfigurations(ctx context.Context) error {
	stored, err := s.store.Configurations(ctx)
	if err != nil {
		return err
	}
	current, err := s.publisher.Current(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range stored {
		p, ok := current[c.Key]
		v := uint64(c.Version)
		if ok && (p.Version > v || (p.Version == v && bytes.Equal(p.Value, c.Value))) {
			if p.Version > v {
				s.log.Warn("consul holds a later version of a configuration than the database", "key", c.Key,
					"consul_version", p.Version, "db_version", c.Version)
			}
			continue
		}
		if _, err := s.publisher.Publish(ctx, c.Key, c.Value, v); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Info("configuration published to consul", "key", c.Key, "version", c.Version)
	}
	return errors.Join(errs...)
}

func (s *Service) extraAllowed(key string) bool {
	for _, p := range s.extraKeys {
		if ok, _ := path.Match(p, key); ok {
			return true
		}
	}
	return false
}

func validKeyName(key string) bool {
	return len(key) <= settings.MaxNameLength && settings.NamePattern.MatchString(key)
}

// normalizeValue checks a value: a documented key's own rules, or for an
// extra key any JSON but null, compacted.
func normalizeValue(def settings.Definition, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, errValueRequired
	}
	if len(raw) > maxValue {
		return nil, errValueTooLarge
	}
	if def != nil {
		v, err := def.Normalize(raw)
		if err != nil {
			return nil, valueError(err.Error())
		}
		return v, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, errValueNotJSON
	}
	return b.Bytes(), nil
}

// unset is a documented key that was never set.
func unset(d settings.Definition) Configuration {
	return Configuration{Key: d.Name(), Value: d.Default(), Description: d.Description(), Type: d.Type(), ReadBy: d.ReadBy()}
}

// documented adds what the catalog says about a stored key.
func documented(c Configuration, d settings.Definition) Configuration {
	c.Set, c.Type, c.ReadBy = true, d.Type(), d.ReadBy()
	return c
}
