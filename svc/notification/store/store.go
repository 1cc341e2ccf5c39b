// Package store is the notification service's MongoDB database, and the
// only place that speaks BSON: notification_templates, notification_logs
// (which are also the delivery queue), their contents, the delivery claims,
// the administrators' changes (changes.go), the outbox (lib/outbox/
// mongoqueue) and the seeding state.
//
// It runs on MongoDB in production and on FerretDB locally, where an update
// is not atomic against a concurrent one: every write that can race is an
// insert under a unique key (a log's id derived from the request's
// idempotency key; a claim's id derived from the log and its claim count).
// FerretDB v1.24 pushes only top-level equalities down to PostgreSQL, which
// filters them in a sequential scan of the collection's table (the indexes
// below serve MongoDB in production); for anything else ($in, ranges,
// sorts) FerretDB reads and decodes every document the equalities leave:
// records are looked up one _id at a time (a few at once), queries filter
// by equality first, and ranges apply to what that selects.
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
	"golang.org/x/sync/errgroup"

	"hospital/lib/mongodb"
	"hospital/lib/outbox/mongoqueue"
	"hospital/svc/notification/notify"
)

// Collections of the service's database.
const (
	collectionTemplates = "notification_templates"
	collectionLogs      = "notification_logs"
	collectionContents  = "notification_log_contents"
	collectionClaims    = "notification_delivery_claims"
	collectionMeta      = "notification_meta"
	seedMetaID          = "default-templates"
)

// Store implements notify.Store.
type Store struct {
	client    *mongo.Client
	db        *mongo.Database
	templates *mongo.Collection
	logs      *mongo.Collection
	contents  *mongo.Collection
	claims    *mongo.Collection
	meta      *mongo.Collection
	changes   *mongo.Collection
	queue     *mongoqueue.Queue
	owner     string
	log       *slog.Logger
	now       func() time.Time
}

var _ notify.Store = (*Store)(nil)

// Open connects to the database uri/name, ensures the indexes and seeds
// the default templates; owner names this instance in claims. It is the
// service's one start-up entry point to the database.
func Open(ctx context.Context, uri, name, owner string, log *slog.Logger) (*Store, error) {
	client, err := mongodb.Connect(ctx, uri, "notification")
	if err != nil {
		return nil, err
	}
	s := New(client, name, owner, log)
	if err := s.Init(ctx, time.Now().UTC()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// New works on database name of client, as Open does, without the
// start-up work (Init). log receives the outbox's warnings (nil: slog's
// default).
func New(client *mongo.Client, name, owner string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	db := client.Database(name)
	// A log's payload is a JSON object: read nested objects back as maps,
	// as they came in.
	payloadOpts := options.Collection().SetBSONOptions(&options.BSONOptions{DefaultDocumentMap: true})
	s := &Store{
		client: client, db: db, owner: owner, log: log, now: time.Now,
		templates: db.Collection(collectionTemplates),
		logs:      db.Collection(collectionLogs),
		contents:  db.Collection(collectionContents, payloadOpts),
		claims:    db.Collection(collectionClaims),
		meta:      db.Collection(collectionMeta),
		changes:   db.Collection(collectionChanges),
		queue:     mongoqueue.New(db, mongoqueue.Options{Owner: owner, Logger: log}),
	}
	// The dispatcher's housekeeping finishes the changes a crash left.
	s.queue.AddHousekeeping(s.finishPending)
	return s
}

// Queue is the outbox the dispatcher delivers from (audit events to the
// admin service).
func (s *Store) Queue() *mongoqueue.Queue { return s.queue }

// Close disconnects.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Ping is the readiness check.
func (s *Store) Ping(ctx context.Context) error { return mongodb.Ping(s.client)(ctx) }

// Init ensures the indexes and seeds the default templates added since the
// last start (an admin who deletes or edits one keeps their change).
// Several instances may run it at once.
func (s *Store) Init(ctx context.Context, now time.Time) error {
	if err := mongodb.EnsureIndexes(ctx, s.templates,
		mongodb.Index{Keys: bson.D{{Key: "notification_type", Value: 1}, {Key: "channel", Value: 1}, {Key: "language", Value: 1}}, Unique: true, Name: "uq_type_channel_language"},
	); err != nil {
		return err
	}
	if err := mongodb.EnsureIndexes(ctx, s.logs,
		mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}, {Key: "next_attempt_at", Value: 1}}, Name: "ix_queue"},
		mongodb.Index{Keys: bson.D{{Key: "recipient_id", Value: 1}, {Key: "created_at", Value: -1}}, Name: "ix_recipient"},
		mongodb.Index{Keys: bson.D{{Key: "created_at", Value: -1}}, Name: "ix_created"},
		mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}, {Key: "holder", Value: 1}, {Key: "next_attempt_at", Value: 1}}, Name: "ix_queue_holder"},
		mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}, {Key: "has_content", Value: 1}, {Key: "updated_at", Value: 1}}, Name: "ix_retention"},
	); err != nil {
		return err
	}
	for _, coll := range []*mongo.Collection{s.claims, s.contents} {
		if err := mongodb.EnsureIndexes(ctx, coll, mongodb.Index{Keys: bson.D{{Key: "created_at", Value: 1}}, Name: "ix_created"}); err != nil {
			return err
		}
	}
	if err := mongodb.EnsureIndexes(ctx, s.changes,
		mongodb.Index{Keys: bson.D{{Key: "pending", Value: 1}}, Name: "ix_pending"},
		mongodb.Index{Keys: bson.D{{Key: "created_at", Value: 1}}, Name: "ix_created"},
	); err != nil {
		return err
	}
	if err := s.queue.EnsureIndexes(ctx); err != nil {
		return err
	}
	return s.seed(ctx, now)
}

type seedMeta struct {
	ID        string    `bson:"_id"`
	Version   int64     `bson:"version"`
	UpdatedAt time.Time `bson:"updated_at"`
}

func (s *Store) seed(ctx context.Context, now time.Time) error {
	var m seedMeta
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: seedMetaID}}).Decode(&m)
	if err != nil && !mongodb.IsNotFound(err) {
		return fmt.Errorf("read seed state: %w", err)
	}
	if m.Version >= notify.DefaultTemplatesVersion {
		return nil
	}
	for _, t := range notify.DefaultTemplates(m.Version) {
		t.CreatedAt, t.UpdatedAt = now, now
		if err := s.insertTemplate(ctx, t); err != nil && !errors.Is(err, notify.ErrDuplicate) {
			return fmt.Errorf("seed template %s/%s/%s: %w", t.NotificationType, t.Channel, t.Language, err)
		}
	}
	_, err = s.meta.ReplaceOne(ctx, bson.D{{Key: "_id", Value: seedMetaID}},
		seedMeta{ID: seedMetaID, Version: notify.DefaultTemplatesVersion, UpdatedAt: now}, options.Replace().SetUpsert(true))
	if err != nil && !mongodb.IsDuplicate(err) {
		return fmt.Errorf("record seed state: %w", err)
	}
	return nil
}

// insertManyUnordered inserts docs, going on past duplicates; dup[i] says
// whether docs[i] was refused by a unique index.
func insertManyUnordered(ctx context.Context, coll *mongo.Collection, docs []any) (dup []bool, err error) {
	dup = make([]bool, len(docs))
	_, err = coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		if err != nil {
			return nil, fmt.Errorf("insert into %s: %w", coll.Name(), err)
		}
		return dup, nil
	}
	for _, we := range bwe.WriteErrors {
		if !mongodb.IsDuplicate(we.WriteError) || we.Index < 0 || we.Index >= len(docs) {
			return nil, fmt.Errorf("insert into %s: %w", coll.Name(), err)
		}
		dup[we.Index] = true
	}
	return dup, nil
}

// byIDConcurrency is how many lookups by _id run at once.
const byIDConcurrency = 8

// eachID runs fn for each of ids, a few at once: one equality lookup each,
// which FerretDB has PostgreSQL filter, where $in would have it read and
// decode the whole collection.
func eachID(ctx context.Context, ids []string, fn func(ctx context.Context, i int, id string) error) error {
	if len(ids) == 1 {
		return fn(ctx, 0, ids[0])
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(byIDConcurrency)
	for i, id := range ids {
		g.Go(func() error { return fn(gctx, i, id) })
	}
	return g.Wait()
}
