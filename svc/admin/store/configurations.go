package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"hospital/svc/admin/oversight"
)

const configCols = `config_key, value, description, version, updated_at, updated_by`

func scanConfiguration(s scanner) (oversight.Configuration, error) {
	var (
		c     oversight.Configuration
		value []byte
		at    time.Time
		by    sql.NullInt64
	)
	err := s.Scan(&c.Key, &value, &c.Description, &c.Version, &at, &by)
	c.Value, c.Set, c.ReadBy = value, true, []string{}
	at = at.UTC()
	c.UpdatedAt = &at
	if by.Valid {
		c.UpdatedBy = &by.Int64
	}
	return c, err
}

// Configuration returns one stored configuration.
func (s *Store) Configuration(ctx context.Context, key string) (oversight.Configuration, error) {
	c, err := scanConfiguration(s.db.QueryRowContext(ctx, `SELECT `+configCols+` FROM system_configurations WHERE config_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return c, oversight.ErrNotFound
	}
	return c, wrap(err, "read configuration %s", key)
}

// Configurations returns every stored configuration.
func (s *Store) Configurations(ctx context.Context) ([]oversight.Configuration, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+configCols+` FROM system_configurations ORDER BY config_key`)
	if err != nil {
		return nil, wrap(err, "list configurations")
	}
	defer rows.Close()
	var out []oversight.Configuration
	for rows.Next() {
		c, err := scanConfiguration(rows)
		if err != nil {
			return nil, wrap(err, "list configurations")
		}
		out = append(out, c)
	}
	return out, wrap(rows.Err(), "list configurations")
}

// LockConfiguration reads a key FOR UPDATE; on a key not stored yet InnoDB
// locks the gap, so two first writes of one key cannot both insert (one
// deadlocks and runs again, then finds the other's row).
func (t *txStore) LockConfiguration(ctx context.Context, key string) (oversight.Configuration, bool, error) {
	c, err := scanConfiguration(t.tx.QueryRowContext(ctx, `SELECT `+configCols+` FROM system_configurations WHERE config_key = ? FOR UPDATE`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return oversight.Configuration{Key: key}, false, nil
	}
	return c, err == nil, wrap(err, "lock configuration %s", key)
}

func (t *txStore) SaveConfiguration(ctx context.Context, c oversight.Configuration) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO system_configurations (`+configCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE value = VALUES(value), description = VALUES(description), version = VALUES(version),
		updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)`,
		c.Key, string(c.Value), c.Description, c.Version, c.UpdatedAt, nullable(c.UpdatedBy))
	return wrap(err, "save configuration %s", c.Key)
}
