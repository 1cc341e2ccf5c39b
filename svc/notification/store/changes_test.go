package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/adminapi"
	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/outbox/mongoqueue"
	"hospital/lib/testkit"
	"hospital/svc/notification/notify"
)

// openStore is a store on a fresh database, seeded.
func openStore(t *testing.T) *Store {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodb.Connect(ctx, f.URI, "notification-changes-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	s := New(c, f.NewDatabase(t), "changes-test", nil)
	if err := s.Init(ctx, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return s
}

func message(key string) outbox.Message {
	return outbox.Message{Key: key, Service: adminapi.Service, Path: adminapi.AuditEventsPath, Body: map[string]string{"event_id": key}}
}

// queued lists the keys of the queued messages.
func queued(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	cur, err := s.db.Collection(mongoqueue.MessagesCollection).Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Key string `bson:"_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range docs {
		out[d.Key] = true
	}
	return out
}

func wantQueued(t *testing.T, s *Store, keys ...string) {
	t.Helper()
	got := queued(t, s)
	if len(got) != len(keys) {
		t.Fatalf("queued %v, want %v", got, keys)
	}
	for _, k := range keys {
		if !got[k] {
			t.Fatalf("queued %v, want %v", got, keys)
		}
	}
}

func seededTemplate(t *testing.T, s *Store, typ, channel, lang string) notify.Template {
	t.Helper()
	list, _, err := s.ListTemplates(context.Background(), notify.TemplateFilter{NotificationType: typ, Channel: channel, Language: lang, Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("template %s/%s/%s: %v %v", typ, channel, lang, list, err)
	}
	return list[0]
}

func pendingChanges(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.changes.CountDocuments(context.Background(), bson.D{{Key: "pending", Value: true}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// housekeep runs the outbox housekeeping as the dispatcher does, at now.
func housekeep(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	if err := s.Queue().Housekeep(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// A writer that dies after deciding a change leaves it to the
// housekeeping: made once, its messages queued once, and never made again
// over a later change.
func TestAnInterruptedChangeIsFinishedOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	tpl := seededTemplate(t, s, "PASSWORD_CHANGED", "SMS", "vi")
	upd := tpl
	upd.BodyTemplateText, upd.UpdatedAt = "changed {{user_name}}", tpl.UpdatedAt.Add(time.Second)
	c, err := updateChange(tpl.UpdatedAt, upd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.decide(ctx, c, []outbox.Message{message("audit:update-1")}); err != nil {
		t.Fatal(err)
	}
	// Decided, not made: another change decided on the same version is
	// refused, and nothing is queued.
	other := tpl
	other.BodyTemplateText, other.UpdatedAt = "other {{user_name}}", tpl.UpdatedAt.Add(2*time.Second)
	if err := s.UpdateTemplate(ctx, tpl.UpdatedAt, other, message("audit:update-2")); !errors.Is(err, notify.ErrConflict) {
		t.Fatalf("a second change on the same version: %v, want ErrConflict", err)
	}
	if got, _ := s.GetTemplate(ctx, tpl.ID); got.BodyTemplateText != tpl.BodyTemplateText {
		t.Fatalf("template changed before the change was made: %q", got.BodyTemplateText)
	}
	wantQueued(t, s)
	// Within the grace the housekeeping leaves it to its writer.
	housekeep(t, s, time.Now())
	wantQueued(t, s)
	housekeep(t, s, time.Now().Add(changeGrace+time.Second))
	if got, _ := s.GetTemplate(ctx, tpl.ID); got.BodyTemplateText != upd.BodyTemplateText || !got.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Fatalf("template after the housekeeping: %+v", got)
	}
	wantQueued(t, s, "audit:update-1")
	if n := pendingChanges(t, s); n != 0 {
		t.Fatalf("%d changes still pending", n)
	}
	// A later change stands, however often the first is finished again.
	later := upd
	later.BodyTemplateText, later.UpdatedAt = "later {{user_name}}", upd.UpdatedAt.Add(time.Second)
	if err := s.UpdateTemplate(ctx, upd.UpdatedAt, later, message("audit:update-3")); err != nil {
		t.Fatal(err)
	}
	c.Pending = true
	if err := s.finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTemplate(ctx, tpl.ID); got.BodyTemplateText != later.BodyTemplateText {
		t.Fatalf("an old change made again over a later one: %q", got.BodyTemplateText)
	}
	wantQueued(t, s, "audit:update-1", "audit:update-3")
}

// A creation whose writer died after inserting the template is finished
// before the template is deleted, so that the housekeeping cannot make it
// again and bring the template back; a deletion interrupted before it was
// made is made by the housekeeping.
func TestAnInterruptedCreationIsNotMadeAgainAfterADeletion(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	nt := notify.Template{ID: s.NewTemplateID(), NotificationType: "WARD_CLOSED", Channel: "SMS", Language: "vi",
		BodyTemplateText: "{{ward}}", IsActive: true, Variables: []string{"ward"}, CreatedAt: now, UpdatedAt: now}
	c, err := createChange(nt)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = s.decide(ctx, c, []outbox.Message{message("audit:create")}); err != nil {
		t.Fatal(err)
	}
	if err := s.apply(ctx, c); err != nil {
		t.Fatal(err)
	}
	read, err := s.GetTemplate(ctx, nt.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantQueued(t, s)
	if _, err := s.decide(ctx, c, nil); !errors.Is(err, notify.ErrConflict) {
		t.Fatalf("the same creation decided twice: %v, want ErrConflict", err)
	}
	if err := s.DeleteTemplate(ctx, read, message("audit:delete")); err != nil {
		t.Fatal(err)
	}
	wantQueued(t, s, "audit:create", "audit:delete")
	if n := pendingChanges(t, s); n != 0 {
		t.Fatalf("%d changes still pending", n)
	}
	housekeep(t, s, time.Now().Add(2*changeGrace))
	if _, err := s.GetTemplate(ctx, nt.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Fatalf("the housekeeping brought back a deleted template: %v", err)
	}

	// A deletion decided and interrupted.
	tpl := seededTemplate(t, s, "PASSWORD_CHANGED", "PUSH", "en")
	d, err := deleteChange(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.decide(ctx, d, []outbox.Message{message("audit:delete-2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTemplate(ctx, tpl.ID); err != nil {
		t.Fatalf("deleted before the change was made: %v", err)
	}
	housekeep(t, s, time.Now().Add(changeGrace+time.Second))
	if _, err := s.GetTemplate(ctx, tpl.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Fatalf("after the housekeeping: %v", err)
	}
	wantQueued(t, s, "audit:create", "audit:delete", "audit:delete-2")
}

// A change that can never be made (the type, channel and language of
// another template) is dropped with its messages: nothing is queued, the
// version stays free.
func TestAChangeThatCannotBeMadeLeavesNothing(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	tpl := seededTemplate(t, s, "PASSWORD_CHANGED", "SMS", "vi")
	taken := seededTemplate(t, s, "ACCOUNT_LOCKED", "SMS", "vi")
	upd := tpl
	upd.NotificationType, upd.UpdatedAt = taken.NotificationType, tpl.UpdatedAt.Add(time.Second)
	if err := s.UpdateTemplate(ctx, tpl.UpdatedAt, upd, message("audit:refused")); !errors.Is(err, notify.ErrDuplicate) {
		t.Fatalf("update onto a taken set: %v, want ErrDuplicate", err)
	}
	wantQueued(t, s)
	if n, _ := s.changes.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("%d changes kept", n)
	}
	upd.NotificationType = "PASSWORD_CHANGED_AGAIN"
	if err := s.UpdateTemplate(ctx, tpl.UpdatedAt, upd, message("audit:made")); err != nil {
		t.Fatal(err)
	}
	wantQueued(t, s, "audit:made")
}

// Instances changing one template from the same version at once: exactly
// one change is made, and only its message is queued.
func TestConcurrentChangesOfOneVersionMakeOne(t *testing.T) {
	s := openStore(t)
	tpl := seededTemplate(t, s, "PASSWORD_CHANGED", "EMAIL", "en")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			upd := tpl
			upd.BodyTemplateText, upd.UpdatedAt = fmt.Sprintf("version %d {{user_name}}", i), tpl.UpdatedAt.Add(time.Second)
			errs[i] = s.UpdateTemplate(context.Background(), tpl.UpdatedAt, upd, message(fmt.Sprintf("audit:%d", i)))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("changes %d and %d were both made", winner, i)
		case !errors.Is(err, notify.ErrConflict):
			t.Fatalf("change %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no change made: %v", errs)
	}
	got, err := s.GetTemplate(context.Background(), tpl.ID)
	if err != nil || got.BodyTemplateText != fmt.Sprintf("version %d {{user_name}}", winner) {
		t.Fatalf("template: %q %v, want version %d", got.BodyTemplateText, err, winner)
	}
	wantQueued(t, s, fmt.Sprintf("audit:%d", winner))
}

// A retry decided on a FAILED log and interrupted is made by the
// housekeeping; made again after the log failed again, it changes nothing.
func TestAnInterruptedRetryIsFinishedOnce(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	errMsg := "gave up"
	l := notify.Log{ID: fmt.Sprintf("%024x", 77), RecipientID: 5, RecipientContact: "a@b.test", Channel: "EMAIL",
		Status: notify.StatusFailed, Attempts: 3, Claims: 3, ErrorMessage: &errMsg, HasContent: true,
		Content: &notify.Content{Subject: "s", Body: "b"}, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	if _, _, err := s.InsertLogs(ctx, []notify.Log{l}); err != nil {
		t.Fatal(err)
	}
	at := now.Add(time.Second)
	c, err := s.decide(ctx, retryChange(l, at), []outbox.Message{message("audit:retry")})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetLog(ctx, l.ID); got.Status != notify.StatusFailed {
		t.Fatalf("log retried before the change was made: %+v", got)
	}
	if err := s.RetryLog(ctx, l, at, message("audit:twin")); !errors.Is(err, notify.ErrConflict) {
		t.Fatalf("a twin retry: %v, want ErrConflict", err)
	}
	housekeep(t, s, time.Now().Add(changeGrace+time.Second))
	got, err := s.GetLog(ctx, l.ID)
	if err != nil || got.Status != notify.StatusPending || got.Attempts != 0 || got.ErrorMessage != nil || !got.NextAttemptAt.Equal(at) {
		t.Fatalf("log after the housekeeping: %+v %v", got, err)
	}
	wantQueued(t, s, "audit:retry")
	// It failed again (a later claim recorded): the old retry, finished
	// again, leaves it FAILED.
	failedAgain := "gave up again"
	if n, err := s.Record(ctx, []notify.Outcome{{LogID: l.ID, Seq: 4, Status: notify.StatusFailed, Attempts: 1,
		NextAttemptAt: at, ErrorMessage: &failedAgain, UpdatedAt: at.Add(time.Second)}}); err != nil || n != 1 {
		t.Fatalf("record the second failure: %d %v", n, err)
	}
	c.Pending = true
	if err := s.finish(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetLog(ctx, l.ID); got.Status != notify.StatusFailed || got.ErrorMessage == nil || *got.ErrorMessage != failedAgain {
		t.Fatalf("an old retry made again: %+v", got)
	}
}
