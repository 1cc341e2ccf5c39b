package notification

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
)

// Store is the service's MongoDB database: notification_templates,
// notification_logs (which are also the delivery queue), the delivery
// leases and a small metadata collection.
//
// Reads and writes of single records go by _id: it is atomic on MongoDB and
// FerretDB alike, and the one lookup FerretDB's SQLite backend serves from an
// index.
type Store struct {
	db        *mongo.Database
	templates *mongo.Collection
	logs      *mongo.Collection
	meta      *mongo.Collection
	leases    *mongodb.Leases
}

var (
	errNotFound  = errors.New("not found")
	errDuplicate = errors.New("duplicate")
)

// NewStore works on db; owner names this instance in delivery leases.
func NewStore(db *mongo.Database, owner string) *Store {
	return &Store{
		db:        db,
		templates: db.Collection(collectionTemplates),
		logs:      db.Collection(collectionLogs),
		meta:      db.Collection(collectionMeta),
		leases:    mongodb.NewLeases(db.Collection(collectionLeases), owner),
	}
}

// Init ensures the indexes and seeds the default templates (once: an admin
// who deletes or edits one keeps their change across restarts).
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
	); err != nil {
		return err
	}
	if err := s.leases.EnsureIndexes(ctx); err != nil {
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
	if m.Version >= defaultTemplatesVersion {
		return nil
	}
	for _, t := range DefaultTemplates() {
		t.ID = bson.NewObjectID()
		t.CreatedAt, t.UpdatedAt = now, now
		if _, err := s.templates.InsertOne(ctx, t); err != nil && !mongodb.IsDuplicate(err) {
			return fmt.Errorf("seed template %s/%s/%s: %w", t.NotificationType, t.Channel, t.Language, err)
		}
	}
	_, err = s.meta.ReplaceOne(ctx, bson.D{{Key: "_id", Value: seedMetaID}},
		seedMeta{ID: seedMetaID, Version: defaultTemplatesVersion, UpdatedAt: now}, options.Replace().SetUpsert(true))
	if err != nil && !mongodb.IsDuplicate(err) {
		return fmt.Errorf("record seed state: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- templates

// TemplatesOfType returns every template of a notification type.
func (s *Store) TemplatesOfType(ctx context.Context, typ string) ([]Template, error) {
	cur, err := s.templates.Find(ctx, bson.D{{Key: "notification_type", Value: typ}})
	if err != nil {
		return nil, fmt.Errorf("find templates: %w", err)
	}
	var out []Template
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	return out, nil
}

// ListTemplates pages through templates matching f.
func (s *Store) ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error) {
	filter := bson.D{}
	if f.NotificationType != "" {
		filter = append(filter, bson.E{Key: "notification_type", Value: f.NotificationType})
	}
	if f.Channel != "" {
		filter = append(filter, bson.E{Key: "channel", Value: f.Channel})
	}
	if f.Language != "" {
		filter = append(filter, bson.E{Key: "language", Value: f.Language})
	}
	if f.IsActive != nil {
		filter = append(filter, bson.E{Key: "is_active", Value: *f.IsActive})
	}
	n, err := s.templates.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count templates: %w", err)
	}
	cur, err := s.templates.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "notification_type", Value: 1}, {Key: "channel", Value: 1}, {Key: "language", Value: 1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list templates: %w", err)
	}
	var out []Template
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("read templates: %w", err)
	}
	return out, int(n), nil
}

// GetTemplate reads one template.
func (s *Store) GetTemplate(ctx context.Context, id bson.ObjectID) (Template, error) {
	var t Template
	err := s.templates.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&t)
	if mongodb.IsNotFound(err) {
		return t, errNotFound
	}
	if err != nil {
		return t, fmt.Errorf("get template: %w", err)
	}
	return t, nil
}

// InsertTemplate stores a new template; errDuplicate when its type, channel
// and language are taken.
func (s *Store) InsertTemplate(ctx context.Context, t Template) error {
	_, err := s.templates.InsertOne(ctx, t)
	if mongodb.IsDuplicate(err) {
		return errDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert template: %w", err)
	}
	return nil
}

// ReplaceTemplate overwrites a template; errNotFound or errDuplicate.
func (s *Store) ReplaceTemplate(ctx context.Context, t Template) error {
	res, err := s.templates.ReplaceOne(ctx, bson.D{{Key: "_id", Value: t.ID}}, t)
	if mongodb.IsDuplicate(err) {
		return errDuplicate
	}
	if err != nil {
		return fmt.Errorf("replace template: %w", err)
	}
	if res.MatchedCount == 0 {
		return errNotFound
	}
	return nil
}

// DeleteTemplate removes a template; errNotFound when there is none.
func (s *Store) DeleteTemplate(ctx context.Context, id bson.ObjectID) error {
	res, err := s.templates.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete template: %w", err)
	}
	if res.DeletedCount == 0 {
		return errNotFound
	}
	return nil
}

// ---------------------------------------------------------------- logs

// GetLog reads one log.
func (s *Store) GetLog(ctx context.Context, id string) (Log, error) {
	var l Log
	err := s.logs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&l)
	if mongodb.IsNotFound(err) {
		return l, errNotFound
	}
	if err != nil {
		return l, fmt.Errorf("get log %s: %w", id, err)
	}
	return l, nil
}

// InsertLog stores l unless a log with its id exists: then it returns that
// one and inserted is false (a repeated request).
func (s *Store) InsertLog(ctx context.Context, l Log) (stored Log, inserted bool, err error) {
	ok, err := mongodb.InsertOrGet(ctx, s.logs, bson.D{{Key: "_id", Value: l.ID}}, l, &stored)
	if err != nil {
		return Log{}, false, err
	}
	if ok {
		return l, true, nil
	}
	return stored, false, nil
}

// UpdateLog sets fields of one log. Only the holder of the log's delivery
// lease (or, for a FAILED log, an admin) writes a log.
func (s *Store) UpdateLog(ctx context.Context, id string, set bson.D) error {
	_, err := s.logs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return fmt.Errorf("update log %s: %w", id, err)
	}
	return nil
}

// DueLogs returns the ids of up to limit PENDING logs due by now, oldest due
// first.
func (s *Store) DueLogs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	cur, err := s.logs.Find(ctx,
		bson.D{{Key: "status", Value: StatusPending}, {Key: "next_attempt_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "next_attempt_at", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("find due logs: %w", err)
	}
	var rows []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, fmt.Errorf("read due logs: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// ListLogs pages through logs matching f, newest first.
func (s *Store) ListLogs(ctx context.Context, f LogFilter) ([]Log, int, error) {
	filter := bson.D{}
	if f.RecipientID != 0 {
		filter = append(filter, bson.E{Key: "recipient_id", Value: f.RecipientID})
	}
	if f.NotificationType != "" {
		filter = append(filter, bson.E{Key: "notification_type", Value: f.NotificationType})
	}
	if f.Channel != "" {
		filter = append(filter, bson.E{Key: "channel", Value: f.Channel})
	}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	if f.RequestedBy != "" {
		filter = append(filter, bson.E{Key: "requested_by", Value: f.RequestedBy})
	}
	if f.From != nil || f.To != nil {
		r := bson.D{}
		if f.From != nil {
			r = append(r, bson.E{Key: "$gte", Value: *f.From})
		}
		if f.To != nil {
			r = append(r, bson.E{Key: "$lt", Value: *f.To})
		}
		filter = append(filter, bson.E{Key: "created_at", Value: r})
	}
	n, err := s.logs.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count logs: %w", err)
	}
	cur, err := s.logs.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list logs: %w", err)
	}
	var out []Log
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("read logs: %w", err)
	}
	return out, int(n), nil
}

// QueueStats counts PENDING and FAILED logs by channel, and the age of the
// oldest PENDING one (for metrics).
func (s *Store) QueueStats(ctx context.Context, now time.Time) (map[[2]string]int, time.Duration, error) {
	cur, err := s.logs.Find(ctx, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{StatusPending, StatusFailed}}}}},
		options.Find().SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "channel", Value: 1}, {Key: "created_at", Value: 1}}))
	if err != nil {
		return nil, 0, err
	}
	var rows []struct {
		Status    string    `bson:"status"`
		Channel   string    `bson:"channel"`
		CreatedAt time.Time `bson:"created_at"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, 0, err
	}
	counts := map[[2]string]int{}
	var oldest time.Duration
	for _, r := range rows {
		counts[[2]string{r.Channel, r.Status}]++
		if r.Status == StatusPending {
			oldest = max(oldest, now.Sub(r.CreatedAt))
		}
	}
	return counts, oldest, nil
}
