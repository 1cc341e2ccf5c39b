// Package store keeps the medical records in MongoDB (FerretDB locally):
// the only place with BSON. See the README's "Storage" for the layout and
// why it is safe on FerretDB, where only an insert under a unique key is
// atomic.
package store

import (
	"context"
	"errors"
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
	"hospital/svc/ehr/records"
)

// Collections of the EHR database (besides the outbox's, the idempotency
// keys' and the versions of the versioned aggregates).
const (
	RecordsCollection       = "medical_records"
	EncountersCollection    = "encounters"
	VitalsCollection        = "vital_signs"
	PrescriptionsCollection = "prescription_references"
	LabsCollection          = "lab_result_references"
	BreakGlassCollection    = "break_glass_accesses"
)

// KeyRetention is how long idempotency keys are kept (the callers' outboxes
// retry for far less).
const KeyRetention = 7 * 24 * time.Hour

// Options tune the store.
type Options struct {
	// Location is the clinic's time zone: encounters are indexed by clinic
	// week for the dashboard.
	Location *time.Location
	// Owner names this instance in outbox claims.
	Owner  string
	Logger *slog.Logger
}

// Store is the EHR database.
type Store struct {
	client     *mongo.Client
	db         *mongo.Database
	queue      *mongoqueue.Queue
	keys       *mongokeys.Store
	records    *versioned.Store[recordDoc]
	encounters *versioned.Store[encounterDoc]
	vitals     *mongo.Collection
	rx         *mongo.Collection
	labs       *mongo.Collection
	breakGlass *mongo.Collection
	loc        *time.Location
}

// Open connects to the database dbName at uri and ensures its indexes.
func Open(ctx context.Context, uri, dbName string, opts Options) (*Store, error) {
	client, err := mongodb.Connect(ctx, uri, records.ServiceName)
	if err != nil {
		return nil, err
	}
	s := New(client.Database(dbName), opts)
	s.client = client
	if err := s.EnsureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// New returns the store over db (call EnsureIndexes before use).
func New(db *mongo.Database, opts Options) *Store {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	q := mongoqueue.New(db, mongoqueue.Options{Owner: opts.Owner, Logger: opts.Logger})
	s := &Store{
		db: db, queue: q, keys: mongokeys.New(db, mongokeys.Options{}),
		records:    versioned.New[recordDoc](db, RecordsCollection, versioned.Options{Outbox: q, Logger: opts.Logger}),
		encounters: versioned.New[encounterDoc](db, EncountersCollection, versioned.Options{Outbox: q, Logger: opts.Logger}),
		vitals:     db.Collection(VitalsCollection), rx: db.Collection(PrescriptionsCollection),
		labs: db.Collection(LabsCollection), breakGlass: db.Collection(BreakGlassCollection), loc: opts.Location,
	}
	q.AddHousekeeping(func(ctx context.Context, _ time.Time) error {
		_, err := s.keys.Purge(ctx, KeyRetention)
		return err
	})
	return s
}

// EnsureIndexes creates every index the store, its outbox and its
// idempotency keys need, and has the outbox watch the collections whose
// inserts carry messages.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	ix := func(keys ...string) mongodb.Index {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongodb.Index{Keys: d}
	}
	steps := []func() error{
		func() error { return s.queue.EnsureIndexes(ctx) },
		func() error { return s.keys.EnsureIndexes(ctx) },
		func() error { return s.records.EnsureIndexes(ctx) },
		func() error { return s.encounters.EnsureIndexes(ctx) },
		func() error {
			return mongodb.EnsureIndexes(ctx, s.encounters.Collection(), ix("patient_id"), ix("patient_id", "doctor_id"), ix("week"))
		},
		func() error {
			return mongodb.EnsureIndexes(ctx, s.vitals, ix("patient_id"), ix("encounter_id"), ix("patient_id", "nurse_id"))
		},
		func() error { return mongodb.EnsureIndexes(ctx, s.rx, ix("patient_id"), ix("encounter_id")) },
		func() error { return mongodb.EnsureIndexes(ctx, s.labs, ix("patient_id"), ix("encounter_id")) },
		func() error { return mongodb.EnsureIndexes(ctx, s.breakGlass, ix("at"), ix("patient_id")) },
		func() error { return s.queue.Track(ctx, s.vitals, s.rx, s.labs) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("ensure indexes: %w", err)
		}
	}
	return nil
}

// Queue is the outbox the dispatcher delivers.
func (s *Store) Queue() *mongoqueue.Queue { return s.queue }

// Keys is the idempotent receiver's store.
func (s *Store) Keys() *mongokeys.Store { return s.keys }

// Ping is the readiness check.
func (s *Store) Ping(ctx context.Context) error {
	return s.db.Client().Ping(ctx, nil)
}

// Close disconnects a store made by Open.
func (s *Store) Close() error {
	if s.client == nil {
		return nil
	}
	return s.client.Disconnect(context.Background())
}

// Enqueue records messages on their own (the audit event of a read).
func (s *Store) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	return s.queue.Enqueue(ctx, msgs...)
}

// RecordBreakGlass keeps an access granted without a care relationship.
func (s *Store) RecordBreakGlass(ctx context.Context, b records.BreakGlass) error {
	_, err := s.breakGlass.InsertOne(ctx, breakGlassDoc{ID: b.ID, PatientID: b.PatientID, UserID: b.UserID, Role: b.Role,
		Reason: b.Reason, Action: b.Action, RequestID: b.RequestID, At: b.At})
	if err != nil {
		return fmt.Errorf("insert break-glass access: %w", err)
	}
	return nil
}

// WroteFor reports whether the clinician wrote an encounter or recorded
// vital signs for the patient.
func (s *Store) WroteFor(ctx context.Context, patientID, clinicianID int64) (bool, error) {
	for _, q := range []struct {
		coll  *mongo.Collection
		field string
	}{{s.encounters.Collection(), "doctor_id"}, {s.vitals, "nurse_id"}} {
		n, err := q.coll.CountDocuments(ctx, bson.D{{Key: "patient_id", Value: patientID}, {Key: q.field, Value: clinicianID}})
		if err != nil {
			return false, fmt.Errorf("look for %s %d in patient %d's record: %w", q.field, clinicianID, patientID, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Counts returns the dashboard's figures.
func (s *Store) Counts(ctx context.Context, week string, since time.Time) (records.Dashboard, error) {
	var d records.Dashboard
	var err error
	if d.MedicalRecords, err = s.records.Collection().CountDocuments(ctx, bson.D{}); err != nil {
		return d, fmt.Errorf("count records: %w", err)
	}
	if d.EncountersThisWeek, err = s.encounters.Collection().CountDocuments(ctx, bson.D{{Key: "week", Value: week}}); err != nil {
		return d, fmt.Errorf("count encounters of %s: %w", week, err)
	}
	if d.BreakGlassAccesses7d, err = s.breakGlass.CountDocuments(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: since}}}}); err != nil {
		return d, fmt.Errorf("count break-glass accesses: %w", err)
	}
	return d, nil
}

// versionedErr maps the versioned store's errors to the domain's.
func versionedErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, versioned.ErrNotFound):
		return fmt.Errorf("%s: %w", what, records.ErrNotFound)
	case errors.Is(err, versioned.ErrExists):
		return fmt.Errorf("%s: %w", what, records.ErrExists)
	case errors.Is(err, versioned.ErrConflict):
		return fmt.Errorf("%s: %w", what, records.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// insertErr maps a duplicate insert to records.ErrExists.
func insertErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case mongodb.IsDuplicate(err):
		return fmt.Errorf("%s: %w", what, records.ErrExists)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// withoutOutbox leaves out the messages a change document carries (the
// audit event of an insert-only entry): nothing reads them back but the
// outbox housekeeping.
var withoutOutbox = options.Find().SetProjection(bson.D{{Key: mongoqueue.FieldMessages, Value: 0}, {Key: mongoqueue.FieldAt, Value: 0}})

// findAll decodes every document of coll matching filter.
func findAll[T any](ctx context.Context, coll *mongo.Collection, filter bson.D) ([]T, error) {
	cur, err := coll.Find(ctx, filter, withoutOutbox)
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", coll.Name(), err)
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read %s: %w", coll.Name(), err)
	}
	return out, nil
}
