package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/svc/notification/notify"
)

// logDoc is a notification_logs document: the spec's fields, and the
// queue's (status, attempts, next_attempt_at, holder, claims). The spec's
// rendered_subject, rendered_body and payload_data_received live in a
// contentDoc of the same _id: the queue rewrites a log on every attempt, and
// FerretDB rewrites the whole document each time (past 2 kB, PostgreSQL
// compresses it out of line too), so the log stays small; and the retention
// purge deletes what it must drop.
type logDoc struct {
	ID                string         `bson:"_id"`
	RecipientID       int64          `bson:"recipient_id"`
	RecipientContact  string         `bson:"recipient_contact"`
	NotificationType  string         `bson:"notification_type"`
	Channel           string         `bson:"channel"`
	Language          string         `bson:"language"`
	TemplateID        *bson.ObjectID `bson:"template_id,omitempty"`
	Status            string         `bson:"status"`
	SentAt            *time.Time     `bson:"sent_at"`
	ProviderMessageID *string        `bson:"provider_message_id"`
	ErrorMessage      *string        `bson:"error_message"`
	HasContent        bool           `bson:"has_content"`
	Sensitive         bool           `bson:"sensitive,omitempty"`
	ContentPurgedAt   *time.Time     `bson:"content_purged_at,omitempty"`
	Urgent            bool           `bson:"urgent"`
	IdempotencyKey    string         `bson:"idempotency_key"`
	RequestHash       string         `bson:"request_hash"`
	RequestedBy       string         `bson:"requested_by"`
	RequestID         string         `bson:"request_id,omitempty"`
	Attempts          int            `bson:"attempts"`
	NextAttemptAt     time.Time      `bson:"next_attempt_at"`
	Holder            string         `bson:"holder"`
	SentBy            string         `bson:"sent_by,omitempty"`
	CreatedAt         time.Time      `bson:"created_at"`
	UpdatedAt         time.Time      `bson:"updated_at"`
	Claims            int64          `bson:"claims"`
}

// contentDoc is a log's rendered message and the data it came from, in
// notification_log_contents under the log's _id.
type contentDoc struct {
	ID                  string         `bson:"_id"`
	RenderedSubject     string         `bson:"rendered_subject"`
	RenderedBody        string         `bson:"rendered_body"`
	RenderedBodyText    string         `bson:"rendered_body_text,omitempty"`
	PayloadDataReceived map[string]any `bson:"payload_data_received"`
	CreatedAt           time.Time      `bson:"created_at"`
}

func logToDoc(l notify.Log) logDoc {
	d := logDoc{
		ID: l.ID, RecipientID: l.RecipientID, RecipientContact: l.RecipientContact,
		NotificationType: l.NotificationType, Channel: l.Channel, Language: l.Language, Status: l.Status,
		SentAt: l.SentAt, ProviderMessageID: l.ProviderMessageID, ErrorMessage: l.ErrorMessage,
		HasContent: l.HasContent && l.Content != nil, Sensitive: l.Sensitive, ContentPurgedAt: l.ContentPurgedAt, Urgent: l.Urgent,
		IdempotencyKey: l.IdempotencyKey, RequestHash: l.RequestHash, RequestedBy: l.RequestedBy, RequestID: l.RequestID,
		Attempts: l.Attempts, NextAttemptAt: l.NextAttemptAt, Holder: l.Holder, SentBy: l.SentBy,
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, Claims: l.Claims,
	}
	if oid, err := bson.ObjectIDFromHex(l.TemplateID); err == nil {
		d.TemplateID = &oid
	}
	return d
}

func contentToDoc(l notify.Log) contentDoc {
	c := l.Content
	d := contentDoc{ID: l.ID, RenderedSubject: c.Subject, RenderedBody: c.Body, RenderedBodyText: c.BodyText,
		PayloadDataReceived: c.Data, CreatedAt: l.CreatedAt}
	if d.PayloadDataReceived == nil {
		d.PayloadDataReceived = map[string]any{}
	}
	return d
}

func (d contentDoc) content() *notify.Content {
	return &notify.Content{Subject: d.RenderedSubject, Body: d.RenderedBody, BodyText: d.RenderedBodyText, Data: d.PayloadDataReceived}
}

func (d logDoc) log() notify.Log {
	l := notify.Log{
		ID: d.ID, RecipientID: d.RecipientID, RecipientContact: d.RecipientContact,
		NotificationType: d.NotificationType, Channel: d.Channel, Language: d.Language, Status: d.Status,
		SentAt: utc(d.SentAt), ProviderMessageID: d.ProviderMessageID, ErrorMessage: d.ErrorMessage,
		HasContent: d.HasContent, Sensitive: d.Sensitive, ContentPurgedAt: utc(d.ContentPurgedAt), Urgent: d.Urgent,
		IdempotencyKey: d.IdempotencyKey, RequestHash: d.RequestHash, RequestedBy: d.RequestedBy, RequestID: d.RequestID,
		Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt.UTC(), Holder: d.Holder, SentBy: d.SentBy,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Claims: d.Claims,
	}
	if d.TemplateID != nil {
		l.TemplateID = d.TemplateID.Hex()
	}
	return l
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func logsOf(docs []logDoc) []notify.Log {
	out := make([]notify.Log, len(docs))
	for i, d := range docs {
		out[i] = d.log()
	}
	return out
}

// GetLog reads one log.
func (s *Store) GetLog(ctx context.Context, id string) (notify.Log, error) {
	var d logDoc
	err := s.logs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if mongodb.IsNotFound(err) {
		return notify.Log{}, notify.ErrNotFound
	}
	if err != nil {
		return notify.Log{}, fmt.Errorf("get log %s: %w", id, err)
	}
	return d.log(), nil
}

// GetLogs reads the logs of ids that exist, in the order of ids.
func (s *Store) GetLogs(ctx context.Context, ids []string) ([]notify.Log, error) {
	found := make([]*notify.Log, len(ids))
	err := eachID(ctx, ids, func(ctx context.Context, i int, id string) error {
		l, err := s.GetLog(ctx, id)
		if errors.Is(err, notify.ErrNotFound) {
			return nil
		}
		found[i] = &l
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]notify.Log, 0, len(ids))
	for _, l := range found {
		if l != nil {
			out = append(out, *l)
		}
	}
	return out, nil
}

// Contents implements notify.Logs.
func (s *Store) Contents(ctx context.Context, ids []string) (map[string]*notify.Content, error) {
	found := make([]*notify.Content, len(ids))
	err := eachID(ctx, ids, func(ctx context.Context, i int, id string) error {
		var d contentDoc
		err := s.contents.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		switch {
		case mongodb.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("content of log %s: %w", id, err)
		}
		found[i] = d.content()
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*notify.Content, len(ids))
	for i, c := range found {
		if c != nil {
			out[ids[i]] = c
		}
	}
	return out, nil
}

// InsertLogs stores logs, their contents first (a log is never without
// the content it claims); a log whose id exists (a repeated request, or its
// concurrent twin) is not stored again, and the stored one is returned in
// its place.
func (s *Store) InsertLogs(ctx context.Context, logs []notify.Log) ([]notify.Log, []bool, error) {
	var contents []any
	for _, l := range logs {
		if l.HasContent && l.Content != nil {
			contents = append(contents, contentToDoc(l))
		}
	}
	if len(contents) > 0 {
		// A content already there is a repeated request's: the same.
		if _, err := insertManyUnordered(ctx, s.contents, contents); err != nil {
			return nil, nil, err
		}
	}
	docs := make([]any, len(logs))
	for i, l := range logs {
		docs[i] = logToDoc(l)
	}
	dup, err := insertManyUnordered(ctx, s.logs, docs)
	if err != nil {
		return nil, nil, err
	}
	stored := make([]notify.Log, len(logs))
	inserted := make([]bool, len(logs))
	var existing []string
	for i, l := range logs {
		stored[i], inserted[i] = l, !dup[i]
		if dup[i] {
			existing = append(existing, l.ID)
		}
	}
	if len(existing) == 0 {
		return stored, inserted, nil
	}
	found, err := s.GetLogs(ctx, existing)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]notify.Log, len(found))
	for _, l := range found {
		byID[l.ID] = l
	}
	for i, l := range logs {
		if dup[i] {
			f, ok := byID[l.ID]
			if !ok {
				return nil, nil, fmt.Errorf("log %s refused as a duplicate but not found", l.ID)
			}
			stored[i] = f
		}
	}
	return stored, inserted, nil
}

// ListLogs pages through logs matching f, newest first.
func (s *Store) ListLogs(ctx context.Context, f notify.LogFilter) ([]notify.Log, int, error) {
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
	var docs []logDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, fmt.Errorf("read logs: %w", err)
	}
	return logsOf(docs), int(n), nil
}

// CountChangedSince implements notify.Logs. The status is an equality
// FerretDB pushes down to PostgreSQL; the time range is applied to those
// (FAILED logs are few; ix_retention serves it on MongoDB).
func (s *Store) CountChangedSince(ctx context.Context, status string, since time.Time) (int, error) {
	n, err := s.logs.CountDocuments(ctx, bson.D{{Key: "status", Value: status}, {Key: "updated_at", Value: bson.D{{Key: "$gte", Value: since}}}})
	if err != nil {
		return 0, fmt.Errorf("count %s logs: %w", status, err)
	}
	return int(n), nil
}
