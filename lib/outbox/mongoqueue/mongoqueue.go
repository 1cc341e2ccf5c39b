// Package mongoqueue is the outbox of a MongoDB service: the state change
// and the calls it causes are recorded so that a crash between them loses
// nothing and doubles nothing, without transactions and without relying on
// an update being atomic (FerretDB has neither; see docs/ARCHITECTURE.md).
//
// The document that records the state change (an insert: a new aggregate, a
// new version of one, a ledger entry) carries its outgoing messages and a
// pending mark in the same insert (Insert). Right after, the messages are
// copied into the outbox_messages collection under _id = their idempotency
// key, so copying twice is harmless, and the mark is removed. If the process
// dies in between, the housekeeping the Dispatcher runs finds the marked
// documents of every tracked collection (Track) and copies their messages.
// So a message exists exactly once as soon as its state change exists.
//
// Claims on queued messages are insert-only leases (mongodb.Leases); a
// message document is written only by the holder of its lease, so no two
// writers ever race on it. Delivery is the outbox.Dispatcher's, as for MySQL.
//
// A document that carries messages must not be updated by anything else
// while its mark may still be set: only the removal of the mark writes to
// it, so FerretDB's read-modify-write updates have nothing to lose. Insert-
// only records (versions, ledger entries, events) are such documents.
package mongoqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
)

// Collections the queue keeps in the service's database.
const (
	MessagesCollection = "outbox_messages"
	LeasesCollection   = "outbox_leases"
	TargetsCollection  = "outbox_targets" // one document per target service

)

// Fields a change document carries (see Insert).
const (
	FieldMessages = "outbox"         // the messages, as stored in the queue
	FieldPending  = "outbox_pending" // true until they are in the queue
	FieldAt       = "outbox_at"      // when the change was recorded
)

// Options tune a Queue; zero values take the defaults.
type Options struct {
	// Grace is how long after its insert a change document may still be
	// marked before the housekeeping copies its messages (10s): the
	// writer normally does it within milliseconds.
	Grace time.Duration
	// LeaseRetention is how long finished claims are kept (7 days).
	LeaseRetention time.Duration
	// DeliveredRetention is how long delivered messages are kept
	// (outbox.DeliveredRetention). FerretDB filters by scanning the
	// collection, so every claim pays for what is kept.
	DeliveredRetention time.Duration
	// Owner names this instance in its claims (for operators).
	Owner  string
	Logger *slog.Logger
}

// Queue is the outbox of one MongoDB database; it implements outbox.Queue.
type Queue struct {
	msgs    *mongo.Collection
	targets *mongo.Collection
	leases  *mongodb.Leases
	opts    Options
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	tracked []*mongo.Collection
	kick    func()
	known   map[string]bool // targets recorded in TargetsCollection
	chores  []func(ctx context.Context, now time.Time) error
}

// New returns the queue kept in db.
func New(db *mongo.Database, opts Options) *Queue {
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.LeaseRetention == 0 {
		opts.LeaseRetention = 7 * 24 * time.Hour
	}
	if opts.DeliveredRetention == 0 {
		opts.DeliveredRetention = outbox.DeliveredRetention
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Queue{
		msgs:    db.Collection(MessagesCollection),
		targets: db.Collection(TargetsCollection),
		leases:  mongodb.NewLeases(db.Collection(LeasesCollection), opts.Owner),
		opts:    opts, log: opts.Logger, now: time.Now, kick: func() {}, known: map[string]bool{},
	}
}

// EnsureIndexes creates the queue's indexes; run it at start-up.
func (q *Queue) EnsureIndexes(ctx context.Context) error {
	err := mongodb.EnsureIndexes(ctx, q.msgs,
		mongodb.Index{Keys: bson.D{{Key: "status", Value: 1}, {Key: "target", Value: 1}, {Key: "next_attempt_at", Value: 1}}, Name: "ix_due"})
	if err != nil {
		return err
	}
	return q.leases.EnsureIndexes(ctx)
}

// Track makes the housekeeping watch coll for change documents whose
// messages a crash left uncopied, and ensures the index it uses. Every
// collection Insert writes to must be tracked.
func (q *Queue) Track(ctx context.Context, colls ...*mongo.Collection) error {
	for _, c := range colls {
		if err := mongodb.EnsureIndexes(ctx, c, mongodb.Index{Keys: bson.D{{Key: FieldPending, Value: 1}}, Name: "ix_outbox_pending"}); err != nil {
			return err
		}
	}
	q.mu.Lock()
	q.tracked = append(q.tracked, colls...)
	q.mu.Unlock()
	return nil
}

// SetKick is called by outbox.New: Insert and Enqueue then wake the
// dispatcher.
func (q *Queue) SetKick(kick func()) {
	q.mu.Lock()
	q.kick = kick
	q.mu.Unlock()
}

func (q *Queue) wake() {
	q.mu.Lock()
	kick := q.kick
	q.mu.Unlock()
	kick()
}

// Insert records a state change and the messages it causes: doc is inserted
// into coll carrying msgs (and a pending mark), then the messages are queued
// and the mark removed. The insert's error is returned as is (a duplicate
// key means the change was recorded before, and its own messages with it).
// Once the insert succeeded, a failure to queue is only logged: the
// housekeeping queues the messages later (coll must be tracked).
func (q *Queue) Insert(ctx context.Context, coll *mongo.Collection, doc any, msgs ...outbox.Message) error {
	if len(msgs) == 0 {
		_, err := coll.InsertOne(ctx, doc)
		return err
	}
	d, prepared, err := q.attach(ctx, doc, msgs)
	if err != nil {
		return err
	}
	res, err := coll.InsertOne(ctx, d)
	if err != nil {
		return err
	}
	if err := q.enqueue(ctx, prepared); err != nil {
		q.log.Warn("outbox: messages left for the housekeeping to queue", "collection", coll.Name(), "err", err.Error())
		return nil
	}
	q.wake()
	if err := q.unmark(ctx, coll, res.InsertedID); err != nil {
		q.log.Warn("outbox: pending mark left for the housekeeping", "collection", coll.Name(), "err", err.Error())
	}
	return nil
}

func (q *Queue) attach(ctx context.Context, doc any, msgs []outbox.Message) (bson.D, []outbox.Prepared, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: encode change document: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, nil, fmt.Errorf("outbox: encode change document: %w", err)
	}
	prepared := make([]outbox.Prepared, 0, len(msgs))
	for _, m := range msgs {
		p, err := outbox.Prepare(ctx, m)
		if err != nil {
			return nil, nil, err
		}
		prepared = append(prepared, p)
	}
	d = append(d, bson.E{Key: FieldMessages, Value: prepared}, bson.E{Key: FieldPending, Value: true},
		bson.E{Key: FieldAt, Value: q.now().UTC()})
	return d, prepared, nil
}

func (q *Queue) unmark(ctx context.Context, coll *mongo.Collection, id any) error {
	_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$unset", Value: bson.D{{Key: FieldPending, Value: ""}}}})
	if err != nil {
		return fmt.Errorf("outbox: clear the pending mark in %s: %w", coll.Name(), err)
	}
	return nil
}

// Enqueue queues msgs directly, for a state change recorded elsewhere that
// guarantees itself that they are queued after a crash. Queuing a key twice
// keeps the first.
func (q *Queue) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	prepared := make([]outbox.Prepared, 0, len(msgs))
	for _, m := range msgs {
		p, err := outbox.Prepare(ctx, m)
		if err != nil {
			return err
		}
		prepared = append(prepared, p)
	}
	return q.EnqueuePrepared(ctx, prepared...)
}

// EnqueuePrepared is Enqueue for messages already prepared and kept in a
// change document (package mongodb/versioned keeps them in its versions).
func (q *Queue) EnqueuePrepared(ctx context.Context, prepared ...outbox.Prepared) error {
	if err := q.enqueue(ctx, prepared); err != nil {
		return err
	}
	q.wake()
	return nil
}

// AddHousekeeping adds a chore to the housekeeping the dispatcher runs (the
// versioned stores that use this queue finish interrupted changes there).
func (q *Queue) AddHousekeeping(chore func(ctx context.Context, now time.Time) error) {
	q.mu.Lock()
	q.chores = append(q.chores, chore)
	q.mu.Unlock()
}

// messageDoc is a queued message. Only the holder of its lease writes it.
type messageDoc struct {
	Key           string     `bson:"_id"`
	Target        string     `bson:"target"`
	Method        string     `bson:"method"`
	Path          string     `bson:"path"`
	Body          []byte     `bson:"body"`
	RequestID     string     `bson:"request_id,omitempty"`
	Status        string     `bson:"status"`
	Attempts      int        `bson:"attempts"`
	NextAttemptAt time.Time  `bson:"next_attempt_at"`
	LastAttemptAt *time.Time `bson:"last_attempt_at,omitempty"`
	LeaseUntil    *time.Time `bson:"lease_until,omitempty"`
	Claim         int64      `bson:"claim"`
	LastError     string     `bson:"last_error,omitempty"`
	LastStatus    int        `bson:"last_status,omitempty"`
	CreatedAt     time.Time  `bson:"created_at"`
	DeliveredAt   *time.Time `bson:"delivered_at,omitempty"`
}

func (q *Queue) enqueue(ctx context.Context, prepared []outbox.Prepared) error {
	now := q.now().UTC()
	for _, p := range prepared {
		if err := q.recordTarget(ctx, p.Service); err != nil {
			return err
		}
		_, err := q.msgs.InsertOne(ctx, messageDoc{
			Key: p.Key, Target: p.Service, Method: p.Method, Path: p.Path, Body: p.Body, RequestID: p.RequestID,
			Status: outbox.StatusPending, NextAttemptAt: now, CreatedAt: now,
		})
		if err != nil && !mongodb.IsDuplicate(err) {
			return fmt.Errorf("outbox: enqueue %s: %w", p.Key, err)
		}
	}
	return nil
}

// recordTarget makes sure the dispatcher looks at target (an insert, once
// per target and process).
func (q *Queue) recordTarget(ctx context.Context, target string) error {
	q.mu.Lock()
	known := q.known[target]
	q.mu.Unlock()
	if known {
		return nil
	}
	if _, err := q.targets.InsertOne(ctx, bson.D{{Key: "_id", Value: target}}); err != nil && !mongodb.IsDuplicate(err) {
		return fmt.Errorf("outbox: record target %s: %w", target, err)
	}
	q.mu.Lock()
	q.known[target] = true
	q.mu.Unlock()
	return nil
}

// Get returns the queued message with key.
func (q *Queue) Get(ctx context.Context, key string) (outbox.Record, error) {
	var m messageDoc
	if err := q.msgs.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&m); err != nil {
		return outbox.Record{}, fmt.Errorf("outbox: get %s: %w", key, err)
	}
	return outbox.Record{Key: m.Key, Service: m.Target, Path: m.Path, Body: m.Body, Status: m.Status,
		Attempts: m.Attempts, LastError: m.LastError, LastStatus: m.LastStatus, NextAttemptAt: m.NextAttemptAt,
		LastAttemptAt: m.LastAttemptAt, DeliveredAt: m.DeliveredAt}, nil
}

// Housekeep queues the messages of change documents a crash left marked,
// and purges old claims and delivered messages (FAILED ones stay until an
// operator has seen to them).
func (q *Queue) Housekeep(ctx context.Context, now time.Time) error {
	q.mu.Lock()
	tracked := append([]*mongo.Collection(nil), q.tracked...)
	chores := append([]func(context.Context, time.Time) error(nil), q.chores...)
	q.mu.Unlock()
	var errs []error
	for _, coll := range tracked {
		if err := q.sweep(ctx, coll, now); err != nil {
			errs = append(errs, err)
		}
	}
	for _, chore := range chores {
		if err := chore(ctx, now); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := q.leases.Purge(ctx, q.opts.LeaseRetention); err != nil {
		errs = append(errs, err)
	}
	if _, err := q.msgs.DeleteMany(ctx, bson.D{{Key: "status", Value: outbox.StatusDelivered},
		{Key: "delivered_at", Value: bson.D{{Key: "$lt", Value: now.Add(-q.opts.DeliveredRetention)}}}}); err != nil {
		errs = append(errs, fmt.Errorf("outbox: purge delivered messages: %w", err))
	}
	return errors.Join(errs...)
}

func (q *Queue) sweep(ctx context.Context, coll *mongo.Collection, now time.Time) error {
	cur, err := coll.Find(ctx, bson.D{{Key: FieldPending, Value: true}},
		options.Find().SetProjection(bson.D{{Key: FieldMessages, Value: 1}, {Key: FieldAt, Value: 1}}).SetLimit(500))
	if err != nil {
		return fmt.Errorf("outbox: sweep %s: %w", coll.Name(), err)
	}
	var docs []struct {
		ID       any               `bson:"_id"`
		Messages []outbox.Prepared `bson:"outbox"`
		At       time.Time         `bson:"outbox_at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("outbox: sweep %s: %w", coll.Name(), err)
	}
	for _, d := range docs {
		if d.At.After(now.Add(-q.opts.Grace)) {
			continue // its writer is most likely still at it
		}
		prepared := d.Messages
		if err := q.enqueue(ctx, prepared); err != nil {
			return err
		}
		if err := q.unmark(ctx, coll, d.ID); err != nil {
			return err
		}
		q.log.Info("outbox: queued the messages of a change a crash interrupted", "collection", coll.Name(), "messages", len(prepared))
	}
	return nil
}
