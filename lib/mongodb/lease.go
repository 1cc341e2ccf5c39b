package mongodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Leases hands out exclusive, expiring claims on named resources (a queued
// record, a scheduled job) to one holder at a time, across every instance
// that shares the database.
//
// The claims on a resource are documents with the _ids "<resource>#1",
// "<resource>#2", ...: a contender walks the sequence, and when every claim so
// far is released or expired it inserts the next one. Contenders that reach
// the same free number insert the same _id, and the unique _id lets exactly
// one of them succeed. This holds on FerretDB, where a findOneAndUpdate is
// not atomic between connections. Every read is by _id: MongoDB serves it
// from the _id index; FerretDB v1.24 on PostgreSQL pushes the equality down
// as a sequential scan of the claims table, which Purge keeps short.
//
// A holder must finish its work well within the lease: after expiry another
// instance may take the resource over. Purge removes old claims.
type Leases struct {
	coll  *mongo.Collection
	owner string
	now   func() time.Time
}

// NewLeases keeps claims in coll; owner names this process in them (for
// operators; correctness does not depend on it).
func NewLeases(coll *mongo.Collection, owner string) *Leases {
	if owner == "" {
		owner = randomHex(6)
	}
	return &Leases{coll: coll, owner: owner, now: time.Now}
}

// EnsureIndexes creates the index Purge uses.
func (l *Leases) EnsureIndexes(ctx context.Context) error {
	return EnsureIndexes(ctx, l.coll, Index{Keys: bson.D{{Key: "created_at", Value: 1}}})
}

type claimDoc struct {
	ID        string     `bson:"_id"`
	Resource  string     `bson:"resource"`
	Seq       int64      `bson:"seq"`
	Owner     string     `bson:"owner"`
	Until     time.Time  `bson:"until"`
	Released  bool       `bson:"released"`
	CreatedAt time.Time  `bson:"created_at"`
	DoneAt    *time.Time `bson:"released_at,omitempty"`
}

// Lease is a held claim.
type Lease struct {
	ID       string
	Resource string
	// Seq is the claim's number: a holder that records it with the
	// resource lets the next contender start its walk there (AcquireFrom).
	Seq   int64
	Until time.Time
	l     *Leases
}

// Valid reports whether the lease has at least margin left.
func (x *Lease) Valid(margin time.Duration) bool {
	return x.l.now().Add(margin).Before(x.Until)
}

// maxWalk bounds the walk: that many live-looking claims in a row is a bug.
const maxWalk = 10000

// Acquire claims resource for ttl. It returns nil (and no error) when another
// holder has it.
func (l *Leases) Acquire(ctx context.Context, resource string, ttl time.Duration) (*Lease, error) {
	return l.AcquireFrom(ctx, resource, 1, ttl)
}

// AcquireFrom is Acquire starting the walk at claim number from instead of
// 1: the Seq of a claim on resource that a holder recorded (in the
// resource's own document) when it was done. Every claim below a recorded
// one was released or expired before it was taken, so the walk may skip
// them, and a resource claimed thousands of times costs a read or two. A
// from that is too low is only slower; it must never be higher than a claim
// that was actually taken.
func (l *Leases) AcquireFrom(ctx context.Context, resource string, from int64, ttl time.Duration) (*Lease, error) {
	from = max(from, 1)
	for seq := from; seq < from+maxWalk; seq++ {
		id := resource + "#" + strconv.FormatInt(seq, 10)
		var c claimDoc
		err := l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
		if err == nil {
			if !c.Released && c.Until.After(l.now()) {
				return nil, nil // held
			}
			continue // finished or expired: the next number is the one to take
		}
		if !IsNotFound(err) {
			return nil, fmt.Errorf("lease %s: read claim: %w", id, err)
		}
		now := l.now().UTC()
		c = claimDoc{ID: id, Resource: resource, Seq: seq, Owner: l.owner, Until: now.Add(ttl), CreatedAt: now}
		if _, err := l.coll.InsertOne(ctx, c); err != nil {
			if IsDuplicate(err) {
				return nil, nil // a contender took this number first
			}
			return nil, fmt.Errorf("lease %s: claim: %w", id, err)
		}
		return &Lease{ID: id, Resource: resource, Seq: seq, Until: c.Until, l: l}, nil
	}
	return nil, fmt.Errorf("lease %s: more than %d claims from #%d", resource, maxWalk, from)
}

// Release ends the lease so the next contender need not wait for expiry.
// Only the holder writes its claim document.
func (x *Lease) Release(ctx context.Context) error {
	now := x.l.now().UTC()
	_, err := x.l.coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: x.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "released", Value: true}, {Key: "released_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("lease %s: release: %w", x.ID, err)
	}
	return nil
}

// Drop ends the lease and deletes its claim, for a resource that is done
// for good (a record in a final state): it keeps the claims collection small.
// A late contender may then claim the resource again, so holders must check
// the resource's state after acquiring, as they should anyway.
func (x *Lease) Drop(ctx context.Context) error {
	if _, err := x.l.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: x.ID}}); err != nil {
		return fmt.Errorf("lease %s: drop: %w", x.ID, err)
	}
	return nil
}

// Purge removes claims created more than olderThan ago. Use an age far beyond
// the time a resource stays in work (a record's whole retry schedule): the
// walk in Acquire starts at #1, so removing the early claims of a resource
// that is still being claimed would let a second holder in.
func (l *Leases) Purge(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := l.coll.DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: l.now().UTC().Add(-olderThan)}}}})
	if err != nil {
		return 0, fmt.Errorf("lease purge: %w", err)
	}
	return res.DeletedCount, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
