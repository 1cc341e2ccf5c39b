// Package mongokeys is the receiver side of idempotent calls for a MongoDB
// service, with the guarantees lib/idempotency gives MySQL services: a
// repeated Idempotency-Key gets the first answer, concurrent duplicates do
// the work once, and a key reused with a different request is a 422.
//
// There is no transaction to tie the key to the work, so safety comes from
// two unique inserts instead:
//
//   - The key is claimed by inserting {_id: scope|key} into
//     idempotency_keys. One request wins; duplicates that arrive while it
//     works wait for its answer (and get a 409 "being processed" if it takes
//     longer than Options.Wait).
//   - The work itself must be idempotent by key: its state change is one
//     insert that carries the key under a unique index (or an _id derived
//     from it), e.g. mongodb.InsertOrGet, mongoqueue.Queue.Insert or
//     versioned.Store.Create with an id made from the key; running it again
//     finds what the first run inserted and answers from that.
//
// So a request that dies between its claim and its answer is harmless: the
// claim stays unanswered, and once it is older than Options.Abandoned the
// next duplicate runs the work again, which inserts nothing new and yields
// the same answer. If the work fails, its claim is removed and a retry
// starts afresh, as a rolled-back MySQL transaction would allow.
//
// Only the claimant writes the answer into its claim (a takeover writes the
// same answer), so FerretDB's non-atomic updates have nothing to race on.
package mongokeys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/idempotency"
	"hospital/lib/mongodb"
	"hospital/lib/problem"
)

// Collection holds the claimed keys and their answers.
const Collection = "idempotency_keys"

// Options tune a Store; zero values take the defaults.
type Options struct {
	// Wait is how long a duplicate waits for the first request's answer
	// before answering 409 (5s).
	Wait time.Duration
	// Abandoned is the age at which an unanswered claim is taken for one
	// whose request died, and the work is run again (30s): longer than any
	// request may take.
	Abandoned time.Duration
}

// Store keeps idempotency keys in one database.
type Store struct {
	coll *mongo.Collection
	opts Options
	now  func() time.Time
}

// New returns the store kept in db.
func New(db *mongo.Database, opts Options) *Store {
	if opts.Wait == 0 {
		opts.Wait = 5 * time.Second
	}
	if opts.Abandoned == 0 {
		opts.Abandoned = 30 * time.Second
	}
	return &Store{coll: db.Collection(Collection), opts: opts, now: time.Now}
}

// EnsureIndexes creates the index Purge uses.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	return mongodb.EnsureIndexes(ctx, s.coll, mongodb.Index{Keys: bson.D{{Key: "created_at", Value: 1}}})
}

type claim struct {
	ID          string     `bson:"_id"`
	Fingerprint string     `bson:"fingerprint"`
	CreatedAt   time.Time  `bson:"created_at"`
	Status      int        `bson:"status,omitempty"`
	Body        []byte     `bson:"body,omitempty"`
	AnsweredAt  *time.Time `bson:"answered_at,omitempty"`
}

// Work does what the request asks, idempotently by key (see the package
// documentation), and returns the answer to store.
type Work func(ctx context.Context) (status int, body []byte, err error)

// Do returns the stored answer for key in scope, or runs work and stores its
// answer. fingerprint identifies the request's content
// (idempotency.Fingerprint); the same key with another fingerprint is a 422.
// An empty key runs work without any of this. scope names the operation (a
// constant of the caller's, without "|").
func (s *Store) Do(ctx context.Context, scope, key, fingerprint string, work Work) (idempotency.Stored, error) {
	if key == "" {
		st, body, err := work(ctx)
		return idempotency.Stored{Status: st, Body: body}, err
	}
	if strings.Contains(scope, "|") {
		return idempotency.Stored{}, fmt.Errorf("idempotency: scope %q contains |", scope)
	}
	id := scope + "|" + key
	deadline := s.now().Add(s.opts.Wait)
	for {
		_, err := s.coll.InsertOne(ctx, claim{ID: id, Fingerprint: fingerprint, CreatedAt: s.now().UTC()})
		if err == nil {
			return s.work(ctx, id, work, true)
		}
		if !mongodb.IsDuplicate(err) {
			return idempotency.Stored{}, fmt.Errorf("idempotency: claim %s: %w", id, err)
		}
		var c claim
		err = s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
		switch {
		case mongodb.IsNotFound(err):
			continue // the first request failed and let go: claim it again
		case err != nil:
			return idempotency.Stored{}, fmt.Errorf("idempotency: read %s: %w", id, err)
		case c.Fingerprint != fingerprint:
			return idempotency.Stored{}, problem.New(http.StatusUnprocessableEntity, "This Idempotency-Key was already used for a different request.")
		case c.AnsweredAt != nil:
			return idempotency.Stored{Status: c.Status, Body: c.Body}, nil
		case s.now().Sub(c.CreatedAt) >= s.opts.Abandoned:
			// Its request died; the work is safe to repeat.
			return s.work(ctx, id, work, false)
		case !s.now().Before(deadline):
			return idempotency.Stored{}, problem.Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
		}
		select {
		case <-ctx.Done():
			return idempotency.Stored{}, fmt.Errorf("idempotency: wait for %s: %w", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// work runs the request and stores its answer in the claim. A claimant whose
// work fails removes its claim so that a retry can try again; one that took
// over an abandoned claim leaves it (the original may yet answer).
func (s *Store) work(ctx context.Context, id string, work Work, own bool) (idempotency.Stored, error) {
	status, body, err := work(ctx)
	if err != nil {
		if own {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, derr := s.coll.DeleteOne(dctx, bson.D{{Key: "_id", Value: id}}); derr != nil {
				err = errors.Join(err, fmt.Errorf("idempotency: release %s: %w", id, derr))
			}
		}
		return idempotency.Stored{}, err
	}
	// If storing the answer fails, the work is still done: only the replay
	// is missing, and a duplicate rebuilds the answer from the work's own
	// insert once the claim counts as abandoned. So the answer stands.
	_, _ = s.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: status}, {Key: "body", Value: body}, {Key: "answered_at", Value: s.now().UTC()},
	}}})
	return idempotency.Stored{Status: status, Body: body}, nil
}

// Purge removes keys claimed more than olderThan ago (keep them longer than
// any client retries: a day or more).
func (s *Store) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: s.now().UTC().Add(-olderThan)}}}})
	if err != nil {
		return 0, fmt.Errorf("idempotency: purge: %w", err)
	}
	return res.DeletedCount, nil
}
