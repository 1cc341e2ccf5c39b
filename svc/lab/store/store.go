// Package store keeps the lab's documents in MongoDB (FerretDB locally):
// the catalog (lab_test_catalog) and the orders (lab_orders), each a
// lib/mongodb/versioned store, whose every change is the insert of a new
// version carrying its outbox messages; the outbox queue; and the
// Idempotency-Keys of placed orders. It is the only package with BSON.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/idempotency/mongokeys"
	"hospital/lib/mongodb"
	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/lib/outbox/mongoqueue"
	"hospital/svc/lab/laboratory"
)

// Collections (the spec's names; versions go in <name>_versions).
const (
	CatalogCollection = "lab_test_catalog"
	OrdersCollection  = "lab_orders"
)

// Store is the lab's database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	queue  *mongoqueue.Queue
	keys   *mongokeys.Store
	tests  *versioned.Store[laboratory.CatalogTest]
	orders *versioned.Store[laboratory.Order]
}

var _ laboratory.Store = (*Store)(nil)

// Open connects to uri, uses database name and ensures its indexes. owner
// names this instance in outbox claims.
func Open(ctx context.Context, uri, name, owner string, log *slog.Logger) (*Store, error) {
	client, err := mongodb.Connect(ctx, uri, laboratory.ServiceName)
	if err != nil {
		return nil, err
	}
	s := New(client.Database(name), owner, log)
	s.client = client
	if err := s.Migrate(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// New returns the store kept in db (its indexes are Migrate's job).
func New(db *mongo.Database, owner string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	q := mongoqueue.New(db, mongoqueue.Options{Owner: owner, Logger: log})
	return &Store{
		db: db, queue: q, keys: mongokeys.New(db, mongokeys.Options{}),
		tests:  versioned.New[laboratory.CatalogTest](db, CatalogCollection, versioned.Options{Outbox: q, Logger: log}),
		orders: versioned.New[laboratory.Order](db, OrdersCollection, versioned.Options{Outbox: q, Logger: log}),
	}
}

// Migrate ensures every index (several instances may run it at once).
func (s *Store) Migrate(ctx context.Context) error {
	for _, ensure := range []func(context.Context) error{s.queue.EnsureIndexes, s.keys.EnsureIndexes, s.tests.EnsureIndexes, s.orders.EnsureIndexes} {
		if err := ensure(ctx); err != nil {
			return err
		}
	}
	if err := mongodb.EnsureIndexes(ctx, s.tests.Collection(),
		mongodb.Index{Keys: bson.D{{Key: "is_active", Value: 1}, {Key: "test_code", Value: 1}}, Name: "ix_active_code"},
		mongodb.Index{Keys: bson.D{{Key: "test_code", Value: 1}}, Name: "ix_code"}); err != nil {
		return err
	}
	return mongodb.EnsureIndexes(ctx, s.orders.Collection(),
		mongodb.Index{Keys: bson.D{{Key: "patient_id", Value: 1}, {Key: "status", Value: 1}}, Name: "ix_patient_status"},
		mongodb.Index{Keys: bson.D{{Key: "in_queue", Value: 1}, {Key: "priority_rank", Value: -1}, {Key: "order_date", Value: 1}}, Name: "ix_queue"},
		mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}}, Name: "ix_status"})
}

// Close disconnects (a store from New has nothing to close).
func (s *Store) Close() error {
	if s.client == nil {
		return nil
	}
	return s.client.Disconnect(context.Background())
}

// Client is the connection, for readiness checks.
func (s *Store) Client() *mongo.Client { return s.client }

// Queue is the outbox the dispatcher delivers from.
func (s *Store) Queue() *mongoqueue.Queue { return s.queue }

// DB is the database, for tests and benchmarks.
func (s *Store) DB() *mongo.Database { return s.db }

// Enqueue puts messages in the outbox.
func (s *Store) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	return wrap(s.queue.Enqueue(ctx, msgs...))
}

// Once runs work once per key (lib/idempotency/mongokeys).
func (s *Store) Once(ctx context.Context, scope, key, fingerprint string, work func(ctx context.Context) (int, []byte, error)) (int, []byte, error) {
	st, err := s.keys.Do(ctx, scope, key, fingerprint, mongokeys.Work(work))
	return st.Status, st.Body, wrap(err)
}

// PurgeKeys forgets Idempotency-Keys claimed more than olderThan ago.
func (s *Store) PurgeKeys(ctx context.Context, olderThan time.Duration) (int64, error) {
	n, err := s.keys.Purge(ctx, olderThan)
	return n, wrap(err)
}

// wrap maps the versioned store's errors to the domain's; anything else
// (the domain's own errors from a change function among them, an
// unreachable database, which the service answers 503 by mongodb.Unreachable)
// passes as it is.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, versioned.ErrNotFound), mongodb.IsNotFound(err):
		return laboratory.ErrNotFound
	case errors.Is(err, versioned.ErrExists):
		return laboratory.ErrExists
	case errors.Is(err, versioned.ErrConflict):
		return laboratory.ErrConflict
	}
	return err
}

// page reads one page of coll matching filter, sorted, and the total. A
// page that is not full ends the list, so its total needs no count (most
// patients' lists fit on one page).
func page[T any](ctx context.Context, coll *mongo.Collection, filter, sort bson.D, limit, offset int) ([]T, int, error) {
	cur, err := coll.Find(ctx, filter, findOpts(sort, limit, offset))
	if err != nil {
		return nil, 0, wrap(fmt.Errorf("list %s: %w", coll.Name(), err))
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, wrap(fmt.Errorf("read %s: %w", coll.Name(), err))
	}
	if len(out) < limit && (offset == 0 || len(out) > 0) {
		return out, offset + len(out), nil
	}
	n, err := coll.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, wrap(fmt.Errorf("count %s: %w", coll.Name(), err))
	}
	return out, int(n), nil
}
