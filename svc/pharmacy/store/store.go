// Package store is the pharmacy's MongoDB database (FerretDB locally): the
// only place with BSON. There are no transactions, and on FerretDB no update
// is atomic against a concurrent one, so every write that can race is an
// insert under a unique key (docs/ARCHITECTURE.md, "MongoDB on FerretDB"):
//
//   - prescriptions and stock records are versioned (lib/mongodb/versioned):
//     each change inserts version N+1, and of two changes decided on
//     version N exactly one is recorded; the other is decided again on the
//     new version. The collections prescriptions and pharmacy_stock hold the
//     latest versions, for queries;
//   - each stock version carries its movement, copied into the ledger
//     stock_movements under _id "<medication_id>#<version>" (a copy made
//     twice is one entry; a copy a crash missed is made from the versions
//     when the ledger is read);
//   - a dispense log is inserted once, under the dispense's id;
//   - messages to other services travel in the change that causes them
//     (lib/outbox/mongoqueue), and keys are claimed by unique inserts
//     (lib/idempotency/mongokeys), as are the leases of dispenses under way
//     (mongodb.Leases).
package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/idempotency/mongokeys"
	"hospital/lib/mongodb"
	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/lib/outbox/mongoqueue"
	"hospital/svc/pharmacy/dispensing"
)

// Collections of the pharmacy's database (besides those of the libraries:
// <name>_versions, outbox_*, idempotency_keys).
const (
	collMedications   = "medications"
	collPrescriptions = "prescriptions"
	collStock         = "pharmacy_stock"
	collMovements     = "stock_movements"
	collDispenseLogs  = "dispense_logs"
	collLeases        = "dispense_leases"
)

// Retention of finished dispense leases and of idempotency keys.
const (
	leaseRetention = 7 * 24 * time.Hour
	keyRetention   = 48 * time.Hour
)

// Options tune a Store.
type Options struct {
	// Owner names this instance in leases (for operators).
	Owner string
	// KeyAbandoned is the age at which an unanswered Idempotency-Key is
	// taken for one whose request died (mongokeys.Options.Abandoned).
	KeyAbandoned time.Duration
	Logger       *slog.Logger
}

// Store is the pharmacy database. It implements dispensing.Store.
type Store struct {
	client        *mongo.Client
	db            *mongo.Database
	medications   *mongo.Collection
	movements     *mongo.Collection
	dispenseLogs  *mongo.Collection
	prescriptions *versioned.Store[dispensing.Prescription]
	stock         *versioned.Store[dispensing.Stock]
	leases        *mongodb.Leases
	queue         *mongoqueue.Queue
	outbox        *deliveries
	keys          *mongokeys.Store
	local         locks
	log           *slog.Logger
}

// Open connects to uri, uses database name and ensures the indexes.
func Open(ctx context.Context, uri, name string, opts Options) (*Store, error) {
	client, err := mongodb.Connect(ctx, uri, dispensing.ServiceName)
	if err != nil {
		return nil, err
	}
	s := New(client.Database(name, options.Database().SetRegistry(Registry())), opts)
	s.client = client
	if err := s.Migrate(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// New works on db, which must use Registry (money is kept as a decimal
// string). Call Migrate before use.
func New(db *mongo.Database, opts Options) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	q := mongoqueue.New(db, mongoqueue.Options{Owner: opts.Owner, Logger: opts.Logger})
	vopts := versioned.Options{Outbox: q, Logger: opts.Logger}
	s := &Store{
		db: db, medications: db.Collection(collMedications), movements: db.Collection(collMovements),
		dispenseLogs:  db.Collection(collDispenseLogs),
		prescriptions: versioned.New[dispensing.Prescription](db, collPrescriptions, vopts),
		stock:         versioned.New[dispensing.Stock](db, collStock, vopts),
		leases:        mongodb.NewLeases(db.Collection(collLeases), opts.Owner),
		queue:         q, outbox: &deliveries{Queue: q},
		keys: mongokeys.New(db, mongokeys.Options{Abandoned: opts.KeyAbandoned}),
		log:  opts.Logger,
	}
	q.AddHousekeeping(s.purge)
	return s
}

// Close disconnects a store made by Open.
func (s *Store) Close() {
	if s.client != nil {
		_ = s.client.Disconnect(context.Background())
	}
}

// Client is the connection (for the readiness check).
func (s *Store) Client() *mongo.Client { return s.db.Client() }

// Outbox is the queue the dispatcher delivers (see OnDelivered).
func (s *Store) Outbox() outbox.Queue { return s.outbox }

// Migrate ensures every index the service and its libraries use.
func (s *Store) Migrate(ctx context.Context) error {
	steps := []func(context.Context) error{
		s.queue.EnsureIndexes, s.prescriptions.EnsureIndexes, s.stock.EnsureIndexes, s.keys.EnsureIndexes, s.leases.EnsureIndexes,
		func(ctx context.Context) error { return s.queue.Track(ctx, s.medications) },
		func(ctx context.Context) error {
			return mongodb.EnsureIndexes(ctx, s.medications,
				mongodb.Index{Keys: bson.D{{Key: "medication_code", Value: 1}}, Unique: true, Name: "uq_medication_code"},
				mongodb.Index{Keys: bson.D{{Key: "name", Value: 1}}, Name: "ix_name"})
		},
		func(ctx context.Context) error {
			return mongodb.EnsureIndexes(ctx, s.prescriptions.Collection(),
				mongodb.Index{Keys: bson.D{{Key: "patient_id", Value: 1}, {Key: "date_prescribed", Value: -1}}, Name: "ix_patient"},
				mongodb.Index{Keys: bson.D{{Key: "awaiting_pharmacy", Value: 1}, {Key: "date_prescribed", Value: 1}}, Name: "ix_awaiting"},
				mongodb.Index{Keys: bson.D{{Key: "dispensing", Value: 1}}, Name: "ix_dispensing"},
				mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}}, Name: "ix_status"})
		},
		func(ctx context.Context) error {
			return mongodb.EnsureIndexes(ctx, s.movements,
				mongodb.Index{Keys: bson.D{{Key: "medication_id", Value: 1}, {Key: "sequence", Value: -1}}, Name: "ix_medication"},
				mongodb.Index{Keys: bson.D{{Key: "medication_id", Value: 1}, {Key: "dispense_log_id", Value: 1}}, Name: "ix_dispense"})
		},
		func(ctx context.Context) error {
			return mongodb.EnsureIndexes(ctx, s.dispenseLogs,
				mongodb.Index{Keys: bson.D{{Key: "prescription_id", Value: 1}}, Name: "ix_prescription"})
		},
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return fmt.Errorf("migrate pharmacy database: %w", err)
		}
	}
	return nil
}

// purge removes old dispense leases and idempotency keys (part of the
// outbox housekeeping).
func (s *Store) purge(ctx context.Context, _ time.Time) error {
	if _, err := s.leases.Purge(ctx, leaseRetention); err != nil {
		return err
	}
	_, err := s.keys.Purge(ctx, keyRetention)
	return err
}

// Enqueue queues messages on their own.
func (s *Store) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	return s.queue.Enqueue(ctx, msgs...)
}

// Idempotent runs work once per key (lib/idempotency/mongokeys).
func (s *Store) Idempotent(ctx context.Context, scope, key, fingerprint string, work func(ctx context.Context) (int, []byte, error)) (int, []byte, error) {
	st, err := s.keys.Do(ctx, scope, key, fingerprint, work)
	return st.Status, st.Body, err
}

// deliveries is the outbox queue, telling the service of every message a
// receiver accepted before recording it (the dispense log's payment status
// follows billing's answer). If telling fails, the outcome is not recorded,
// the claim runs out and the message is delivered again: receivers are
// idempotent, and so is what the service does on hearing of it.
type deliveries struct {
	*mongoqueue.Queue
	delivered func(ctx context.Context, key string) error
}

// OnDelivered sets what to do when a message is delivered (before the
// dispatcher starts).
func (s *Store) OnDelivered(fn func(ctx context.Context, key string) error) { s.outbox.delivered = fn }

// Record implements outbox.Queue.
func (d *deliveries) Record(ctx context.Context, m outbox.Claimed, o outbox.Outcome) error {
	if o.Result == outbox.Delivered && d.delivered != nil {
		if err := d.delivered(ctx, m.Key); err != nil {
			return fmt.Errorf("after delivering %s: %w", m.Key, err)
		}
	}
	return d.Queue.Record(ctx, m, o)
}

// Database is the database the store works on (for tests' assertions).
func (s *Store) Database() *mongo.Database { return s.db }
