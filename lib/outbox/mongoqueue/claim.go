package mongoqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
)

// DueTargets lists every target a message was ever queued for: finding the
// due ones would read the whole backlog on FerretDB (it filters ranges in
// memory), while a lane with nothing due costs one short query.
func (q *Queue) DueTargets(ctx context.Context, _ time.Time) ([]string, error) {
	cur, err := q.targets.Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("outbox: targets: %w", err)
	}
	var docs []struct {
		Name string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("outbox: targets: %w", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Name
	}
	return out, nil
}

// Claim takes a lease on each qualifying message, then checks the message
// again (another instance may have finished it in between) and notes the
// lease in it so other instances skip it.
func (q *Queue) Claim(ctx context.Context, req outbox.ClaimRequest) ([]outbox.Claimed, error) {
	qualifies := bson.A{bson.D{{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: req.Now}}}}}
	if !req.AttemptedBefore.IsZero() {
		qualifies = append(qualifies, bson.D{{Key: "last_attempt_at", Value: bson.D{{Key: "$lt", Value: req.AttemptedBefore}}}})
	}
	filter := bson.D{
		{Key: "status", Value: outbox.StatusPending},
		{Key: "target", Value: req.Target},
		{Key: "$and", Value: bson.A{
			bson.D{{Key: "$or", Value: qualifies}},
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "lease_until", Value: nil}},
				bson.D{{Key: "lease_until", Value: bson.D{{Key: "$lt", Value: req.Now}}}},
			}}},
		}},
	}
	// No sort: FerretDB sorts in memory after reading every match, while
	// without one it reads the target's pending messages in stored order
	// (about the order they were queued) and stops at the limit.
	cur, err := q.msgs.Find(ctx, filter, options.Find().
		SetLimit(int64(req.Limit)).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "claim", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("outbox: claim for %s: %w", req.Target, err)
	}
	var candidates []struct {
		Key   string `bson:"_id"`
		Claim int64  `bson:"claim"`
	}
	if err := cur.All(ctx, &candidates); err != nil {
		return nil, fmt.Errorf("outbox: claim for %s: %w", req.Target, err)
	}
	// Each claim is a few round trips: make them side by side.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		batch []outbox.Claimed
		errs  []error
		sem   = make(chan struct{}, 8)
	)
	for _, c := range candidates {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m, ok, err := q.claimOne(ctx, c.Key, c.Claim, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				batch = append(batch, m)
			}
		}()
	}
	wg.Wait()
	// Claims already made are returned with the error: their lease would
	// otherwise hold them until it runs out.
	return batch, errors.Join(errs...)
}

func (q *Queue) claimOne(ctx context.Context, key string, hint int64, req outbox.ClaimRequest) (outbox.Claimed, bool, error) {
	lease, err := q.leases.AcquireFrom(ctx, key, hint, req.Until.Sub(req.Now))
	if err != nil || lease == nil {
		return outbox.Claimed{}, false, err
	}
	var m messageDoc
	if err := q.msgs.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&m); err != nil {
		_ = lease.Release(ctx)
		return outbox.Claimed{}, false, fmt.Errorf("outbox: read claimed %s: %w", key, err)
	}
	attemptedBefore := m.LastAttemptAt != nil && !req.AttemptedBefore.IsZero() && m.LastAttemptAt.Before(req.AttemptedBefore)
	if m.Status != outbox.StatusPending || (m.NextAttemptAt.After(req.Now) && !attemptedBefore) {
		// Finished or put off by another instance since the lookup.
		return outbox.Claimed{}, false, lease.Release(ctx)
	}
	_, err = q.msgs.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "lease_until", Value: lease.Until}, {Key: "claim", Value: lease.Seq},
	}}})
	if err != nil {
		_ = lease.Release(ctx)
		return outbox.Claimed{}, false, fmt.Errorf("outbox: note the lease on %s: %w", key, err)
	}
	return outbox.Claimed{Key: m.Key, Service: m.Target, Method: m.Method, Path: m.Path, Body: m.Body,
		RequestID: m.RequestID, Attempts: m.Attempts, Lease: lease}, true, nil
}

// Record writes the outcome into the message, if our lease still holds, and
// ends the lease.
func (q *Queue) Record(ctx context.Context, m outbox.Claimed, o outbox.Outcome) error {
	lease, ok := m.Lease.(*mongodb.Lease)
	if !ok {
		return fmt.Errorf("outbox: %s was not claimed from MongoDB", m.Key)
	}
	if !lease.Valid(0) {
		return fmt.Errorf("outbox: lease on %s ran out before its outcome was recorded; another instance may retry it", m.Key)
	}
	set := bson.D{{Key: "last_attempt_at", Value: o.At}}
	inc := 1
	final := false
	switch o.Result {
	case outbox.Delivered:
		set = append(set, bson.E{Key: "status", Value: outbox.StatusDelivered}, bson.E{Key: "delivered_at", Value: o.At},
			bson.E{Key: "last_status", Value: o.Status}, bson.E{Key: "last_error", Value: ""})
		final = true
	case outbox.Refused:
		set = append(set, bson.E{Key: "status", Value: outbox.StatusFailed}, bson.E{Key: "last_status", Value: o.Status},
			bson.E{Key: "last_error", Value: o.Error})
		final = true
	case outbox.Retry:
		set = append(set, bson.E{Key: "next_attempt_at", Value: o.Next}, bson.E{Key: "last_status", Value: o.Status},
			bson.E{Key: "last_error", Value: o.Error})
	case outbox.Deferred:
		set = append(set, bson.E{Key: "next_attempt_at", Value: o.Next}, bson.E{Key: "last_error", Value: o.Error})
		inc = 0
	default:
		return fmt.Errorf("outbox: unknown result %d", o.Result)
	}
	set = append(set, bson.E{Key: "attempts", Value: m.Attempts + inc})
	_, err := q.msgs.UpdateOne(ctx, bson.D{{Key: "_id", Value: m.Key}}, bson.D{
		{Key: "$set", Value: set},
		{Key: "$unset", Value: bson.D{{Key: "lease_until", Value: ""}}},
	})
	if err != nil {
		return fmt.Errorf("outbox: record the outcome for %s: %w", m.Key, err)
	}
	if final {
		// Nobody claims a finished message again; a late contender that
		// does finds it finished and lets go.
		return lease.Drop(ctx)
	}
	return lease.Release(ctx)
}

// Backlog counts PENDING and FAILED messages per target: one aggregation
// per status, so FerretDB reads only the documents of that status (an
// equality it can hand to PostgreSQL), never the delivered ones.
func (q *Queue) Backlog(ctx context.Context) ([]outbox.Backlog, error) {
	var out []outbox.Backlog
	for _, status := range []string{outbox.StatusPending, outbox.StatusFailed} {
		cur, err := q.msgs.Aggregate(ctx, bson.A{
			bson.D{{Key: "$match", Value: bson.D{{Key: "status", Value: status}}}},
			bson.D{{Key: "$group", Value: bson.D{
				{Key: "_id", Value: "$target"},
				{Key: "count", Value: bson.D{{Key: "$sum", Value: 1}}},
				{Key: "oldest", Value: bson.D{{Key: "$min", Value: "$created_at"}}},
			}}},
		})
		if err != nil {
			return nil, fmt.Errorf("outbox: backlog: %w", err)
		}
		var rows []struct {
			Target string    `bson:"_id"`
			Count  int       `bson:"count"`
			Oldest time.Time `bson:"oldest"`
		}
		if err := cur.All(ctx, &rows); err != nil {
			return nil, fmt.Errorf("outbox: backlog: %w", err)
		}
		for _, r := range rows {
			out = append(out, outbox.Backlog{Target: r.Target, Status: status, Count: r.Count, Oldest: r.Oldest})
		}
	}
	return out, nil
}
