package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	cur, err := s.claims.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	var out []claimDoc
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	return out, nil
}

// DueLogs implements notify.Queue.
func (s *Store) DueLogs(ctx context.Context, now time.Time, limit int) ([]notify.Log, error) {
	cur, err := s.logs.Find(ctx,
		bson.D{
			{Key: "status", Value: notify.StatusPending},
			{Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}},
			{Key: "sensitive", Value: bson.D{{Key: "$ne", Value: true}}},
		},
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
func (s *Store) Reschedule(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.logs.UpdateMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "status", Value: notify.StatusPending}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "next_attempt_at", Value: at}}}})
	if err != nil {
		return fmt.Errorf("reschedule %d logs: %w", len(ids), err)
	}
	return nil
}

// Record implements notify.Queue: one write for all outcomes, each applied
// only while no later claim has been recorded on its log.
func (s *Store) Record(ctx context.Context, outcomes []notify.Outcome) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	models := make([]mongo.WriteModel, len(outcomes))
	for i, o := range outcomes {
		set := bson.D{
			{Key: "status", Value: o.Status}, {Key: "attempts", Value: o.Attempts},
			{Key: "next_attempt_at", Value: o.NextAttemptAt}, {Key: "updated_at", Value: o.UpdatedAt},
			{Key: "error_message", Value: o.ErrorMessage}, {Key: "claims", Value: o.Seq},
		}
		if o.SentAt != nil {
			set = append(set, bson.E{Key: "sent_at", Value: *o.SentAt}, bson.E{Key: "provider_message_id", Value: o.ProviderMessageID},
				bson.E{Key: "sent_by", Value: o.SentBy})
		}
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: o.LogID}, {Key: "claims", Value: bson.D{{Key: "$lt", Value: o.Seq}}}}).
			SetUpdate(bson.D{{Key: "$set", Value: set}})
	}
	res, err := s.logs.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return 0, fmt.Errorf("record %d deliveries: %w", len(outcomes), err)
	}
	return int(res.MatchedCount), nil
}

// QueueStats implements notify.Queue.
func (s *Store) QueueStats(ctx context.Context, now time.Time) (map[[2]string]int, time.Duration, error) {
	cur, err := s.logs.Find(ctx, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{notify.StatusPending, notify.StatusFailed}}}}},
		options.Find().SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "channel", Value: 1}, {Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, 0, fmt.Errorf("queue stats: %w", err)
	}
	var rows []struct {
		Status    string    `bson:"status"`
		Channel   string    `bson:"channel"`
		CreatedAt time.Time `bson:"created_at"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, 0, fmt.Errorf("queue stats: %w", err)
	}
	counts := map[[2]string]int{}
	var oldest time.Duration
	for _, r := range rows {
		counts[[2]string{r.Channel, r.Status}]++
		if r.Status == notify.StatusPending {
			oldest = max(oldest, now.Sub(r.CreatedAt))
		}
	}
	return counts, oldest, nil
}

// PurgeContent implements notify.Housekeeping.
func (s *Store) PurgeContent(ctx context.Context, before, now time.Time) (int64, error) {
	res, err := s.logs.UpdateMany(ctx,
		bson.D{
			{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{notify.StatusSent, notify.StatusFailed, notify.StatusDelivered}}}},
			{Key: "updated_at", Value: bson.D{{Key: "$lt", Value: before}}},
			{Key: "rendered_body", Value: bson.D{{Key: "$exists", Value: true}}},
		},
		bson.D{
			{Key: "$unset", Value: bson.D{{Key: "rendered_subject", Value: ""}, {Key: "rendered_body", Value: ""},
				{Key: "rendered_body_text", Value: ""}, {Key: "payload_data_received", Value: ""}}},
			{Key: "$set", Value: bson.D{{Key: "content_purged_at", Value: now}}},
		})
	if err != nil {
		return 0, fmt.Errorf("purge log content: %w", err)
	}
	return res.ModifiedCount, nil
}

// PurgeClaims implements notify.Housekeeping.
func (s *Store) PurgeClaims(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.claims.DeleteMany(ctx, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}})
	if err != nil {
		return 0, fmt.Errorf("purge claims: %w", err)
	}
	return res.DeletedCount, nil
}
