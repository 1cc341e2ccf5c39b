package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/svc/notification/notify"
)

// Changes. An administrator's change (a template created, updated or
// deleted, a FAILED log queued again) and its audit events cannot be one
// write on FerretDB: no transactions, no atomic update, and the log is
// rewritten by the delivery queue meanwhile. So a change is first decided:
// a notification_changes document under an _id naming the object and the
// version of it the change was decided on ("template:<id>@<updated_at>",
// "log:<id>@<claims>.<updated_at>", "template:<id>@new"), holding the new
// state and the outbox messages, marked pending. Then it is made by a write
// conditional on that version, its messages are queued and the mark is
// removed. Every write to a template, and every write to a FAILED log, goes
// through a change (the queue writes PENDING logs only, the retention job
// never touches status or updated_at), so:
//
//   - two changes decided on one version are one insert: the second is
//     refused (notify.ErrConflict) and its caller reads again;
//   - making a change again is harmless: its conditional write finds the
//     object at its version only if it was not made, and queueing a message
//     twice keeps the first;
//   - a change left pending (its writer died, or the database failed it
//     midway) is finished by the outbox housekeeping after changeGrace.
//
// So a change's audit events are queued once, if and only if it is made. A
// change that can never be made (an update to a taken type, channel and
// language) is dropped with its messages.

// collectionChanges holds the changes.
const collectionChanges = "notification_changes"

// Kinds of change.
const (
	kindTemplateCreate = "template.create"
	kindTemplateUpdate = "template.update"
	kindTemplateDelete = "template.delete"
	kindLogRetry       = "log.retry"
)

// changeGrace is how long a change may stay pending before the housekeeping
// finishes it: far longer than its writer may take (finishTimeout), so the
// two never make it at once.
const changeGrace = time.Minute

// finishTimeout bounds a writer's work on a change once it is decided; the
// caller going away does not cut it short.
const finishTimeout = 15 * time.Second

// changeDoc is a notification_changes document.
type changeDoc struct {
	ID     string `bson:"_id"`
	Kind   string `bson:"kind"`
	Object string `bson:"object_id"`
	// From is the object's updated_at the change was decided on (not for a
	// create); Claims the log's claim count (a retry).
	From   time.Time `bson:"from"`
	Claims int64     `bson:"claims,omitempty"`
	// At is the object's new updated_at (a retry: also its next attempt).
	At time.Time `bson:"at"`
	// Template is the template after a create or an update.
	Template  *templateDoc      `bson:"template,omitempty"`
	Messages  []outbox.Prepared `bson:"messages"`
	Pending   bool              `bson:"pending,omitempty"`
	CreatedAt time.Time         `bson:"created_at"`
}

func templateChangeID(id string, from time.Time) string {
	return "template:" + id + "@" + strconv.FormatInt(from.UnixMilli(), 10)
}

func createChangeID(id string) string { return "template:" + id + "@new" }

// NewTemplateID implements notify.Templates.
func (s *Store) NewTemplateID() string { return bson.NewObjectID().Hex() }

// CreateTemplate implements notify.Changes.
func (s *Store) CreateTemplate(ctx context.Context, t notify.Template, msgs ...outbox.Message) error {
	c, err := createChange(t)
	if err != nil {
		return err
	}
	return s.change(ctx, c, msgs)
}

// UpdateTemplate implements notify.Changes.
func (s *Store) UpdateTemplate(ctx context.Context, from time.Time, t notify.Template, msgs ...outbox.Message) error {
	c, err := updateChange(from, t)
	if err != nil {
		return err
	}
	if err := s.finishCreate(ctx, t.ID); err != nil {
		return err
	}
	return s.change(ctx, c, msgs)
}

// DeleteTemplate implements notify.Changes.
func (s *Store) DeleteTemplate(ctx context.Context, t notify.Template, msgs ...outbox.Message) error {
	c, err := deleteChange(t)
	if err != nil {
		return err
	}
	if err := s.finishCreate(ctx, t.ID); err != nil {
		return err
	}
	return s.change(ctx, c, msgs)
}

// RetryLog implements notify.Changes.
func (s *Store) RetryLog(ctx context.Context, l notify.Log, at time.Time, msgs ...outbox.Message) error {
	return s.change(ctx, retryChange(l, at), msgs)
}

func createChange(t notify.Template) (changeDoc, error) {
	oid, err := bson.ObjectIDFromHex(t.ID)
	if err != nil {
		return changeDoc{}, fmt.Errorf("create template %q: not an ObjectID", t.ID)
	}
	d := templateToDoc(t, oid)
	return changeDoc{ID: createChangeID(t.ID), Kind: kindTemplateCreate, Object: t.ID, At: t.UpdatedAt, Template: &d}, nil
}

func updateChange(from time.Time, t notify.Template) (changeDoc, error) {
	oid, err := bson.ObjectIDFromHex(t.ID)
	if err != nil {
		return changeDoc{}, notify.ErrNotFound
	}
	d := templateToDoc(t, oid)
	return changeDoc{ID: templateChangeID(t.ID, from), Kind: kindTemplateUpdate, Object: t.ID,
		From: from, At: t.UpdatedAt, Template: &d}, nil
}

func deleteChange(t notify.Template) (changeDoc, error) {
	if _, err := bson.ObjectIDFromHex(t.ID); err != nil {
		return changeDoc{}, notify.ErrNotFound
	}
	return changeDoc{ID: templateChangeID(t.ID, t.UpdatedAt), Kind: kindTemplateDelete, Object: t.ID, From: t.UpdatedAt}, nil
}

func retryChange(l notify.Log, at time.Time) changeDoc {
	id := "log:" + l.ID + "@" + strconv.FormatInt(l.Claims, 10) + "." + strconv.FormatInt(l.UpdatedAt.UnixMilli(), 10)
	return changeDoc{ID: id, Kind: kindLogRetry, Object: l.ID, From: l.UpdatedAt, Claims: l.Claims, At: at}
}

// Enqueue implements notify.Changes.
func (s *Store) Enqueue(ctx context.Context, msgs ...outbox.Message) error {
	return s.queue.Enqueue(ctx, msgs...)
}

// finishCreate finishes the creation of template id if it is still
// pending, before another change of it is decided: a creation made again
// after the template's deletion would bring it back. The template exists
// (the caller read it), so finishing only queues the messages.
func (s *Store) finishCreate(ctx context.Context, id string) error {
	var c changeDoc
	err := s.changes.FindOne(ctx, bson.D{{Key: "_id", Value: createChangeID(id)}, {Key: "pending", Value: true}}).Decode(&c)
	if mongodb.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the creation of template %s: %w", id, err)
	}
	return s.finish(ctx, c)
}

// change decides c, then makes it.
func (s *Store) change(ctx context.Context, c changeDoc, msgs []outbox.Message) error {
	c, err := s.decide(ctx, c, msgs)
	if err != nil {
		return err
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return s.finish(fctx, c)
}

// decide records c with msgs, pending.
func (s *Store) decide(ctx context.Context, c changeDoc, msgs []outbox.Message) (changeDoc, error) {
	for _, m := range msgs {
		p, err := outbox.Prepare(ctx, m)
		if err != nil {
			return c, err
		}
		c.Messages = append(c.Messages, p)
	}
	c.Pending, c.CreatedAt = true, s.now().UTC()
	_, err := s.changes.InsertOne(ctx, c)
	if mongodb.IsDuplicate(err) {
		return c, s.decidedBefore(ctx, c.ID)
	}
	if err != nil {
		return c, fmt.Errorf("record the %s of %s: %w", c.Kind, c.Object, err)
	}
	return c, nil
}

// decidedBefore answers a change refused because another was decided on
// the same version: that one is finished here if its writer seems gone,
// and the caller reads again.
func (s *Store) decidedBefore(ctx context.Context, id string) error {
	var c changeDoc
	err := s.changes.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&c)
	switch {
	case mongodb.IsNotFound(err):
		// Dropped meanwhile (it could not be made): the version is free.
	case err != nil:
		return fmt.Errorf("read change %s: %w", id, err)
	case c.Pending && c.CreatedAt.Before(s.now().Add(-changeGrace)):
		if err := s.finish(ctx, c); err != nil && !errors.Is(err, notify.ErrDuplicate) {
			return err
		}
	}
	return notify.ErrConflict
}

// finish makes c (again), queues its messages and clears its mark. An
// error before the change is made leaves it pending; after, it is only
// logged: the housekeeping queues the messages.
func (s *Store) finish(ctx context.Context, c changeDoc) error {
	if err := s.apply(ctx, c); errors.Is(err, notify.ErrDuplicate) {
		if _, err := s.changes.DeleteOne(ctx, bson.D{{Key: "_id", Value: c.ID}}); err != nil {
			s.log.Warn("a change that cannot be made is left for the housekeeping to drop", "change", c.ID, "err", err.Error())
		}
		return err
	} else if err != nil {
		return err
	}
	if err := s.queue.EnqueuePrepared(ctx, c.Messages...); err != nil {
		s.log.Warn("change made; its messages are left for the housekeeping to queue", "change", c.ID, "err", err.Error())
		return nil
	}
	if _, err := s.changes.UpdateOne(ctx, bson.D{{Key: "_id", Value: c.ID}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "pending", Value: ""}}}}); err != nil {
		s.log.Warn("change made and its messages queued; its mark is left for the housekeeping", "change", c.ID, "err", err.Error())
	}
	return nil
}

// apply makes c unless it was made: nil when the object is in c's state
// (or moved on from it), notify.ErrDuplicate when c can never be made.
func (s *Store) apply(ctx context.Context, c changeDoc) error {
	switch c.Kind {
	case kindTemplateCreate:
		_, err := s.templates.InsertOne(ctx, c.Template)
		if !mongodb.IsDuplicate(err) {
			return wrapApply(c, err)
		}
		// Its own _id (made before), or another template's type, channel
		// and language.
		n, err := s.templates.CountDocuments(ctx, bson.D{{Key: "_id", Value: c.Template.ID}})
		if err != nil {
			return wrapApply(c, err)
		}
		if n == 0 {
			return notify.ErrDuplicate
		}
		return nil
	case kindTemplateUpdate:
		_, err := s.templates.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.Template.ID}, {Key: "updated_at", Value: c.From}}, c.Template)
		if mongodb.IsDuplicate(err) {
			return notify.ErrDuplicate
		}
		return wrapApply(c, err)
	case kindTemplateDelete:
		oid, err := bson.ObjectIDFromHex(c.Object)
		if err != nil {
			return notify.ErrDuplicate
		}
		_, err = s.templates.DeleteOne(ctx, bson.D{{Key: "_id", Value: oid}, {Key: "updated_at", Value: c.From}})
		return wrapApply(c, err)
	case kindLogRetry:
		_, err := s.logs.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: c.Object}, {Key: "status", Value: notify.StatusFailed},
				{Key: "claims", Value: c.Claims}, {Key: "updated_at", Value: c.From}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "status", Value: notify.StatusPending}, {Key: "attempts", Value: 0}, {Key: "error_message", Value: nil},
				{Key: "next_attempt_at", Value: c.At}, {Key: "holder", Value: ""}, {Key: "updated_at", Value: c.At},
			}}})
		return wrapApply(c, err)
	}
	return fmt.Errorf("change %s: unknown kind %q", c.ID, c.Kind)
}

func wrapApply(c changeDoc, err error) error {
	if err != nil {
		return fmt.Errorf("make the %s of %s: %w", c.Kind, c.Object, err)
	}
	return nil
}

// finishPending is the outbox housekeeping's chore: it finishes the changes
// left pending for longer than changeGrace.
func (s *Store) finishPending(ctx context.Context, now time.Time) error {
	cur, err := s.changes.Find(ctx, bson.D{{Key: "pending", Value: true}}, options.Find().SetLimit(100))
	if err != nil {
		return fmt.Errorf("find pending changes: %w", err)
	}
	var docs []changeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("read pending changes: %w", err)
	}
	var errs []error
	for _, c := range docs {
		if c.CreatedAt.After(now.Add(-changeGrace)) {
			continue // its writer is most likely still at it
		}
		switch err := s.finish(ctx, c); {
		case errors.Is(err, notify.ErrDuplicate):
			s.log.Warn("dropped a change an interrupted request had decided and that cannot be made", "change", c.ID)
		case err != nil:
			errs = append(errs, err)
		default:
			s.log.Info("finished a change an interrupted request had decided", "change", c.ID, "messages", len(c.Messages))
		}
	}
	return errors.Join(errs...)
}

// PurgeChanges implements notify.Housekeeping.
func (s *Store) PurgeChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.changes.DeleteMany(ctx, bson.D{
		{Key: "pending", Value: bson.D{{Key: "$ne", Value: true}}},
		{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}},
	})
	if err != nil {
		return 0, fmt.Errorf("purge changes: %w", err)
	}
	return res.DeletedCount, nil
}
