package store

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"hospital/lib/mongodb"
	"hospital/svc/notification/notify"
)

// Claims. A log's delivery claims are documents with the _ids
// "<log id>#1", "<log id>#2", ...; the log counts the claims recorded on it
// (claims). To deliver a log read with claims = n, a worker inserts claim
// n+1: contenders insert the same _id and the unique _id lets exactly one
// succeed, on FerretDB as on MongoDB. The holder records the outcome
// together with claims = n+1, so the next delivery (a retry) claims n+2,
// and a claim that is never recorded (its holder died) is taken over once
// it expires by claiming the next number. Claims are inserted for a whole
// batch in one write.

type claimDoc struct {
	ID        string    `bson:"_id"`
	LogID     string    `bson:"log_id"`
	Seq       int64     `bson:"seq"`
	Owner     string    `bson:"owner"`
	Until     time.Time `bson:"until"`
	CreatedAt time.Time `bson:"created_at"`
}

func claimID(logID string, seq int64) string { return logID + "#" + strconv.FormatInt(seq, 10) }

// maxTakeovers bounds the walk past expired claims in one Claim call.
const maxTakeovers = 5

// Claim implements notify.Queue.
func (s *Store) Claim(ctx context.Context, logs []notify.Log, now time.Time, ttl time.Duration) ([]notify.Claim, error) {
	until := now.Add(ttl)
	first := make(map[string]int64, len(logs))
	seq := make(map[string]int64, len(logs))
	todo := make([]string, 0, len(logs))
	for _, l := range logs {
		if _, ok := seq[l.ID]; ok {
			continue
		}
		first[l.ID], seq[l.ID] = l.Claims+1, l.Claims+1
		todo = append(todo, l.ID)
	}
	var won []notify.Claim
	for round := 0; round <= maxTakeovers && len(todo) > 0; round++ {
		docs := make([]any, len(todo))
		for i, id := range todo {
			docs[i] = claimDoc{ID: claimID(id, seq[id]), LogID: id, Seq: seq[id], Owner: s.owner, Until: until, CreatedAt: now}
		}
		dup, err := insertManyUnordered(ctx, s.claims, docs)
		if err != nil {
			return won, err
		}
		var contested []string
		for i, id := range todo {
			if dup[i] {
				contested = append(contested, claimID(id, seq[id]))
				continue
			}
			won = append(won, notify.Claim{LogID: id, Seq: seq[id], Until: until, TookOver: seq[id] > first[id]})
		}
		if len(contested) == 0 {
			break
		}
		// Held claims are lost; expired ones are taken over with the next
		// number.
		held, err := s.readClaims(ctx, contested)
		if err != nil {
			return won, err
		}
		todo = todo[:0]
		for _, c := range held {
			if c.Until.After(now) {
				continue
			}
			seq[c.LogID] = c.Seq + 1
			todo = append(todo, c.LogID)
		}
	}
	return won, nil
}

func (s *Store) readClaims(ctx context.Context, ids []string) ([]claimDoc, error) {
	found := make([]*claimDoc, len(ids))
	err := eachID(ctx, ids, func(ctx context.Context, i int, id string) error {
		var c claimDoc
		err := s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
		switch {
		case mongodb.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("read claim %s: %w", id, err)
		}
		found[i] = &c
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []claimDoc
	for _, c := range found {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

// DueLogs implements notify.Queue. The equalities (status, holder) are
// filtered in PostgreSQL on FerretDB (ix_queue_holder serves them on
// MongoDB); the rest is applied to what they select.
func (s *Store) DueLogs(ctx context.Context, now time.Time, limit int, anyHolder bool) ([]notify.Log, error) {
	filter := bson.D{{Key: "status", Value: notify.StatusPending}}
	if !anyHolder {
		filter = append(filter, bson.E{Key: "holder", Value: ""})
	}
	filter = append(filter,
		bson.E{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}},
		bson.E{Key: "sensitive", Value: bson.D{{Key: "$ne", Value: true}}})
	cur, err := s.logs.Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "next_attempt_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find due logs: %w", err)
	}
	var docs []logDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read due logs: %w", err)
	}
	return logsOf(docs), nil
}

// Reschedule implements notify.Queue.
func (s *Store) Reschedule(ctx context.Context, ids []string, at time.Time, holder string) error {
	return eachID(ctx, ids, func(ctx context.Context, _ int, id string) error {
		_, err := s.logs.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "status", Value: notify.StatusPending}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: at}, {Key: "holder", Value: holder}}}})
		if err != nil {
			return fmt.Errorf("reschedule log %s: %w", id, err)
		}
		return nil
	})
}

// Record implements notify.Queue. Each outcome applies only while no later
// claim has been recorded on its log. FerretDB runs each update on its own
// (a read and a write of the document in PostgreSQL, a few milliseconds),
// so the common case, a batch of messages sent and named beforehand, is
// one update of many documents: the batch's holder selects them (an
// equality FerretDB pushes down to PostgreSQL, where the $in of ids alone
// would read every log) and the ids among them. The rest go one
// by one, in a few ordered bulk writes at once (FerretDB runs the
// statements of one unordered bulk write all at once, and they contend).
func (s *Store) Record(ctx context.Context, outcomes []notify.Outcome) (int, error) {
	type batchKey struct {
		holder, sentBy string
		seq            int64
		attempts       int
	}
	batches := map[batchKey][]notify.Outcome{}
	var single []notify.Outcome
	for _, o := range outcomes {
		if o.Status == notify.StatusSent && o.ProviderMessageID == nil && o.Holder != "" {
			k := batchKey{o.Holder, o.SentBy, o.Seq, o.Attempts}
			batches[k] = append(batches[k], o)
			continue
		}
		single = append(single, o)
	}
	var recorded atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(recordConcurrency)
	for k, batch := range batches {
		g.Go(func() error {
			ids := make([]string, len(batch))
			last := batch[0]
			for i, o := range batch {
				ids[i] = o.LogID
				if o.SentAt.After(*last.SentAt) {
					last = o
				}
			}
			res, err := s.logs.UpdateMany(gctx,
				bson.D{
					{Key: "status", Value: notify.StatusPending}, {Key: "holder", Value: k.holder},
					{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "claims", Value: bson.D{{Key: "$lt", Value: k.seq}}},
				},
				bson.D{{Key: "$set", Value: bson.D{
					{Key: "status", Value: notify.StatusSent}, {Key: "attempts", Value: k.attempts},
					{Key: "next_attempt_at", Value: last.NextAttemptAt}, {Key: "updated_at", Value: last.UpdatedAt},
					{Key: "sent_at", Value: *last.SentAt}, {Key: "sent_by", Value: k.sentBy}, {Key: "error_message", Value: nil},
					{Key: "claims", Value: k.seq}, {Key: "holder", Value: ""},
				}}})
			if err != nil {
				return fmt.Errorf("record %d deliveries of batch %s: %w", len(batch), k.holder, err)
			}
			recorded.Add(res.MatchedCount)
			return nil
		})
	}
	chunk := max(1, (len(single)+recordConcurrency-1)/recordConcurrency)
	for i := 0; i < len(single); i += chunk {
		part := single[i:min(i+chunk, len(single))]
		g.Go(func() error {
			n, err := s.recordEach(gctx, part)
			recorded.Add(n)
			return err
		})
	}
	err := g.Wait()
	return int(recorded.Load()), err
}

// recordConcurrency is how many record writes run at once.
const recordConcurrency = 4

func (s *Store) recordEach(ctx context.Context, outcomes []notify.Outcome) (int64, error) {
	models := make([]mongo.WriteModel, len(outcomes))
	for i, o := range outcomes {
		set := bson.D{
			{Key: "status", Value: o.Status}, {Key: "attempts", Value: o.Attempts},
			{Key: "next_attempt_at", Value: o.NextAttemptAt}, {Key: "updated_at", Value: o.UpdatedAt},
			{Key: "error_message", Value: o.ErrorMessage}, {Key: "claims", Value: o.Seq}, {Key: "holder", Value: ""},
		}
		if o.SentAt != nil {
			set = append(set, bson.E{Key: "sent_at", Value: *o.SentAt}, bson.E{Key: "sent_by", Value: o.SentBy})
		}
		if o.ProviderMessageID != nil {
			set = append(set, bson.E{Key: "provider_message_id", Value: *o.ProviderMessageID})
		}
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: o.LogID}, {Key: "claims", Value: bson.D{{Key: "$lt", Value: o.Seq}}}}).
			SetUpdate(bson.D{{Key: "$set", Value: set}})
	}
	res, err := s.logs.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(true))
	if err != nil {
		return 0, fmt.Errorf("record %d deliveries: %w", len(outcomes), err)
	}
	return res.MatchedCount, nil
}

// QueueStats implements notify.Queue.
func (s *Store) QueueStats(ctx context.Context, now time.Time) (map[[2]string]int, time.Duration, error) {
	counts := map[[2]string]int{}
	var oldest time.Duration
	for _, status := range []string{notify.StatusPending, notify.StatusFailed} {
		cur, err := s.logs.Find(ctx, bson.D{{Key: "status", Value: status}},
			options.Find().SetProjection(bson.D{{Key: "channel", Value: 1}, {Key: "created_at", Value: 1}}))
		if err != nil {
			return nil, 0, fmt.Errorf("queue stats: %w", err)
		}
		var rows []struct {
			Channel   string    `bson:"channel"`
			CreatedAt time.Time `bson:"created_at"`
		}
		if err := cur.All(ctx, &rows); err != nil {
			return nil, 0, fmt.Errorf("queue stats: %w", err)
		}
		for _, r := range rows {
			counts[[2]string{r.Channel, status}]++
			if status == notify.StatusPending {
				oldest = max(oldest, now.Sub(r.CreatedAt))
			}
		}
	}
	return counts, oldest, nil
}

// PurgeContent implements notify.Housekeeping: the contents of finished
// logs go, then the logs say so. A crash between the two leaves logs that
// claim a content they no longer have, which reads as purged. Contents
// created more than twice the period ago go in any case.
func (s *Store) PurgeContent(ctx context.Context, before, now time.Time) (int64, error) {
	var n int64
	for _, status := range []string{notify.StatusSent, notify.StatusFailed, notify.StatusDelivered} {
		filter := bson.D{
			{Key: "status", Value: status}, {Key: "has_content", Value: true},
			{Key: "updated_at", Value: bson.D{{Key: "$lt", Value: before}}},
		}
		cur, err := s.logs.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			return n, fmt.Errorf("find %s logs past retention: %w", status, err)
		}
		var rows []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &rows); err != nil {
			return n, fmt.Errorf("read %s logs past retention: %w", status, err)
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		err = eachID(ctx, ids, func(ctx context.Context, _ int, id string) error {
			if _, err := s.contents.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
				return fmt.Errorf("delete content of log %s: %w", id, err)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		res, err := s.logs.UpdateMany(ctx, filter, bson.D{{Key: "$set", Value: bson.D{
			{Key: "has_content", Value: false}, {Key: "content_purged_at", Value: now},
		}}})
		if err != nil {
			return n, fmt.Errorf("mark %s logs purged: %w", status, err)
		}
		n += res.ModifiedCount
	}
	// Contents whose log was never stored (its request failed between the
	// two inserts and was not repeated) go after twice the period.
	orphans := before.Add(-now.Sub(before))
	if _, err := s.contents.DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: orphans}}}}); err != nil {
		return n, fmt.Errorf("purge old contents: %w", err)
	}
	return n, nil
}

// PurgeClaims implements notify.Housekeeping.
func (s *Store) PurgeClaims(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.claims.DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, fmt.Errorf("purge claims: %w", err)
	}
	return res.DeletedCount, nil
}
