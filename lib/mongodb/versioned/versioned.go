// Package versioned keeps contended aggregates (a medical record several
// clinicians edit, a prescription's status, a lab order, a stock count)
// correct on FerretDB and on MongoDB alike, where only an insert under a
// unique key is atomic (see docs/ARCHITECTURE.md).
//
// Every change is the insert of a new version document, _id "<id>#<N+1>",
// holding the whole aggregate after the change. Two writers that start from
// version N both try to insert N+1; the unique _id lets exactly one in. The
// other re-reads the new version and applies its change again (Update), or
// is told of the conflict (UpdateAt, for an If-Match the client sent). So no
// change is lost and none is applied to a state it was not decided on.
//
// The aggregate's own collection (Collection) holds the latest version of
// each, for queries. It is a projection: rewritten after each change, and
// repaired when a reader finds a newer version than it shows (a writer died
// in between, or two projection writes landed out of order). Reads by id
// (Get, Update) always return the latest version.
//
// A version carries the outbox messages of its change (Change.Send) in the
// same insert; they are queued right after, and a version left pending by a
// crash is finished (projection, messages) by Sweep, which the outbox
// dispatcher's housekeeping runs when Options.Outbox is a mongoqueue.Queue.
package versioned

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
)

// Errors of the store; map them to 404, 409 and 412/409 at the edge.
var (
	ErrNotFound = errors.New("versioned: not found")
	ErrExists   = errors.New("versioned: already exists")
	// ErrConflict: the document changed since the version the caller
	// meant to change (UpdateAt), or contention outlasted MaxAttempts.
	ErrConflict = errors.New("versioned: changed concurrently")
)

// VersionField is the field of the current document that holds its version
// number. Give T a field tagged bson:"_v" (e.g. Version int64) to see it:
// the store sets it on every document it returns and ignores it on writes.
const VersionField = "_v"

// Outbox queues the messages versions carry (mongoqueue.Queue is one).
type Outbox interface {
	EnqueuePrepared(ctx context.Context, msgs ...outbox.Prepared) error
}

// Options tune a Store; zero values take the defaults.
type Options struct {
	// Outbox receives the messages of each change; nil means changes may
	// not send any.
	Outbox Outbox
	// MaxAttempts bounds how often Update applies its change to a newer
	// version after losing a race (100).
	MaxAttempts int
	// Grace is how long a version may stay pending before Sweep finishes
	// it (10s): its writer normally does within milliseconds.
	Grace  time.Duration
	Logger *slog.Logger
}

// Store keeps documents of type T, whose bson form has a string _id.
type Store[T any] struct {
	docs     *mongo.Collection
	versions *mongo.Collection
	opts     Options
	log      *slog.Logger
	now      func() time.Time
}

// New returns the store for the aggregate name: its current documents in the
// collection name, its versions in name_versions. When opts.Outbox can run
// housekeeping chores (mongoqueue.Queue), Sweep is added to them.
func New[T any](db *mongo.Database, name string, opts Options) *Store[T] {
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 100
	}
	if opts.Grace == 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store[T]{docs: db.Collection(name), versions: db.Collection(name + "_versions"),
		opts: opts, log: opts.Logger, now: time.Now}
	if hk, ok := opts.Outbox.(interface {
		AddHousekeeping(func(ctx context.Context, now time.Time) error)
	}); ok {
		hk.AddHousekeeping(s.sweep)
	}
	return s
}

// Collection holds the current version of every document, for queries
// (lists, filters). Write only through the store.
func (s *Store[T]) Collection() *mongo.Collection { return s.docs }

// EnsureIndexes creates the indexes the store needs (the service adds its
// own query indexes on Collection).
func (s *Store[T]) EnsureIndexes(ctx context.Context) error {
	return mongodb.EnsureIndexes(ctx, s.versions,
		mongodb.Index{Keys: bson.D{{Key: "pending", Value: 1}}, Name: "ix_pending"},
		mongodb.Index{Keys: bson.D{{Key: "entity", Value: 1}}, Name: "ix_entity"})
}

// Change describes the change being made, to the function that makes it.
type Change struct {
	// Version is the number the change will have if it is recorded.
	Version int64
	At      time.Time
	msgs    []outbox.Message
}

// Send records msgs with the change: they are queued if, and only if, the
// change is recorded. Their keys should name the change (e.g. include
// Version) so a redelivery is recognised by the receiver.
func (c *Change) Send(msgs ...outbox.Message) { c.msgs = append(c.msgs, msgs...) }

type versionDoc struct {
	ID      string            `bson:"_id"`
	Entity  string            `bson:"entity"`
	V       int64             `bson:"v"`
	Doc     bson.D            `bson:"doc"`
	At      time.Time         `bson:"at"`
	Pending bool              `bson:"pending,omitempty"`
	Outbox  []outbox.Prepared `bson:"outbox,omitempty"`
}

func versionID(id string, v int64) string { return id + "#" + strconv.FormatInt(v, 10) }

// Create records doc as version 1 of a new document, with msgs. A document
// with the same _id is ErrExists (a repeated create: read it with Get). On
// success doc's version field, if it has one, is set.
func (s *Store[T]) Create(ctx context.Context, doc *T, msgs ...outbox.Message) error {
	d, id, err := encode(doc)
	if err != nil {
		return err
	}
	at := s.now().UTC()
	if _, err := s.record(ctx, id, d, 1, at, msgs); err != nil {
		return err
	}
	return decodeInto(d, 1, doc)
}

// record inserts version v of id and finishes it; a duplicate is ErrExists.
func (s *Store[T]) record(ctx context.Context, id string, d bson.D, v int64, at time.Time, msgs []outbox.Message) (bool, error) {
	prepared := make([]outbox.Prepared, 0, len(msgs))
	for _, m := range msgs {
		if s.opts.Outbox == nil {
			return false, fmt.Errorf("versioned: %s sends messages but the store has no outbox", id)
		}
		p, err := outbox.Prepare(ctx, m)
		if err != nil {
			return false, err
		}
		prepared = append(prepared, p)
	}
	vd := versionDoc{ID: versionID(id, v), Entity: id, V: v, Doc: d, At: at, Pending: true, Outbox: prepared}
	if _, err := s.versions.InsertOne(ctx, vd); err != nil {
		if mongodb.IsDuplicate(err) {
			return false, ErrExists
		}
		return false, fmt.Errorf("versioned: record %s: %w", vd.ID, err)
	}
	// The change is recorded; what follows is finished by Sweep if it
	// fails here.
	if err := s.finish(ctx, vd); err != nil {
		s.log.Warn("versioned: change recorded, its follow-up left to the sweep", "version", vd.ID, "err", err.Error())
	}
	return true, nil
}

// finish brings the projection up to (at least) vd, queues vd's messages
// and clears its pending mark.
func (s *Store[T]) finish(ctx context.Context, vd versionDoc) error {
	if _, _, err := s.settle(ctx, vd.Entity, vd.Doc, vd.V); err != nil {
		return err
	}
	if len(vd.Outbox) > 0 {
		if s.opts.Outbox == nil {
			return fmt.Errorf("versioned: %s carries messages but the store has no outbox", vd.ID)
		}
		if err := s.opts.Outbox.EnqueuePrepared(ctx, vd.Outbox...); err != nil {
			return err
		}
	}
	_, err := s.versions.UpdateOne(ctx, bson.D{{Key: "_id", Value: vd.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}})
	if err != nil {
		return fmt.Errorf("versioned: clear pending mark of %s: %w", vd.ID, err)
	}
	return nil
}

// Get returns the latest version of the document id, or ErrNotFound.
func (s *Store[T]) Get(ctx context.Context, id string) (T, error) {
	var zero T
	d, v, err := s.latest(ctx, id)
	if err != nil {
		return zero, err
	}
	var doc T
	if err := decodeInto(d, v, &doc); err != nil {
		return zero, err
	}
	return doc, nil
}

// Update applies fn to the latest version of id and records the result as
// the next version. If another change is recorded first, fn runs again on
// the newer version (so it must decide only from the document it is given,
// and send messages only through ch); after MaxAttempts losses it gives up
// with ErrConflict. An error from fn is returned as is and records nothing.
func (s *Store[T]) Update(ctx context.Context, id string, fn func(doc *T, ch *Change) error) (T, error) {
	return s.update(ctx, id, 0, fn)
}

// UpdateAt is Update for a change decided on version (an If-Match): if id
// is no longer at that version, or another change is recorded first, it
// answers ErrConflict instead of applying fn to a state nobody looked at.
func (s *Store[T]) UpdateAt(ctx context.Context, id string, version int64, fn func(doc *T, ch *Change) error) (T, error) {
	if version < 1 {
		return *new(T), ErrConflict
	}
	return s.update(ctx, id, version, fn)
}

func (s *Store[T]) update(ctx context.Context, id string, want int64, fn func(doc *T, ch *Change) error) (T, error) {
	var zero T
	cur, v, err := s.latest(ctx, id)
	if err != nil {
		return zero, err
	}
	for attempt := 1; ; attempt++ {
		if want != 0 && v != want {
			return zero, ErrConflict
		}
		var doc T
		if err := decodeInto(cur, v, &doc); err != nil {
			return zero, err
		}
		ch := &Change{Version: v + 1, At: s.now().UTC()}
		if err := fn(&doc, ch); err != nil {
			return zero, err
		}
		d, newID, err := encode(&doc)
		if err != nil {
			return zero, err
		}
		if newID != id {
			return zero, fmt.Errorf("versioned: a change may not alter _id (%s to %s)", id, newID)
		}
		_, err = s.record(ctx, id, d, v+1, ch.At, ch.msgs)
		if err == nil {
			var out T
			return out, decodeInto(d, v+1, &out)
		}
		if !errors.Is(err, ErrExists) {
			return zero, err
		}
		// Lost the race for v+1.
		if want != 0 || attempt >= s.opts.MaxAttempts {
			return zero, ErrConflict
		}
		if err := pause(ctx, attempt); err != nil {
			return zero, err
		}
		if cur, v, err = s.advance(ctx, id, cur, v); err != nil {
			return zero, err
		}
	}
}

// pause spreads out writers that lost a race, so they do not all meet again
// at the next version.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 20))*int64(time.Millisecond) + 1))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Sweep finishes versions whose writer died before it updated the
// projection or queued the messages. Run it periodically (it is part of
// the outbox housekeeping when Options.Outbox is a mongoqueue.Queue).
func (s *Store[T]) Sweep(ctx context.Context) error { return s.sweep(ctx, s.now()) }

func (s *Store[T]) sweep(ctx context.Context, now time.Time) error {
	cur, err := s.versions.Find(ctx, bson.D{{Key: "pending", Value: true}}, options.Find().SetLimit(500))
	if err != nil {
		return fmt.Errorf("versioned: sweep %s: %w", s.versions.Name(), err)
	}
	var vds []versionDoc
	if err := cur.All(ctx, &vds); err != nil {
		return fmt.Errorf("versioned: sweep %s: %w", s.versions.Name(), err)
	}
	var errs []error
	for _, vd := range vds {
		if vd.At.After(now.Add(-s.opts.Grace)) {
			continue // its writer is most likely still at it
		}
		if err := s.finish(ctx, vd); err != nil {
			errs = append(errs, err)
			continue
		}
		s.log.Info("versioned: finished a change a crash interrupted", "version", vd.ID)
	}
	return errors.Join(errs...)
}
