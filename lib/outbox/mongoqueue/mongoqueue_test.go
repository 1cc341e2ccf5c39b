package mongoqueue_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/lib/outbox/mongoqueue"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func setup(t *testing.T) (*mongoqueue.Queue, *mongo.Database) {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongodb.Connect(ctx, f.URI, "mongoqueue-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database(f.NewDatabase(t))
	q := mongoqueue.New(db, mongoqueue.Options{Logger: quiet, Grace: time.Minute})
	if err := q.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	return q, db
}

type dispense struct {
	ID  string `bson:"_id"`
	Qty int    `bson:"qty"`
}

func note(key string) outbox.Message {
	return outbox.Message{Key: key, Service: "billing", Path: "/api/v1/billing/internal/items/", Body: map[string]string{"k": key}}
}

func messages(t *testing.T, db *mongo.Database, key string) int64 {
	t.Helper()
	n, err := db.Collection(mongoqueue.MessagesCollection).CountDocuments(context.Background(), bson.D{{Key: "_id", Value: key}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func marked(t *testing.T, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(context.Background(), bson.D{{Key: mongoqueue.FieldPending, Value: true}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInsertQueuesTheMessagesOfTheChange(t *testing.T) {
	q, db := setup(t)
	ctx := context.Background()
	coll := db.Collection("dispenses")
	if err := q.Track(ctx, coll); err != nil {
		t.Fatal(err)
	}
	kicked := 0
	q.SetKick(func() { kicked++ })
	if err := q.Insert(ctx, coll, dispense{ID: "d1", Qty: 2}, note("dispensed:d1"), note("stock-low:d1")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dispensed:d1", "stock-low:d1"} {
		rec, err := q.Get(ctx, k)
		if err != nil || rec.Status != outbox.StatusPending || rec.Service != "billing" || string(rec.Body) != `{"k":"`+k+`"}` {
			t.Fatalf("queued %s: %+v %v", k, rec, err)
		}
	}
	if kicked == 0 {
		t.Fatal("the dispatcher was not woken")
	}
	var got dispense
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "d1"}}).Decode(&got); err != nil || got.Qty != 2 {
		t.Fatalf("change document: %+v %v", got, err)
	}
	if n := marked(t, coll); n != 0 {
		t.Fatalf("%d documents still marked after their messages were queued", n)
	}

	// The same change again (a retried request) is refused by its key and
	// queues nothing new.
	err := q.Insert(ctx, coll, dispense{ID: "d1", Qty: 9}, note("dispensed:d1-again"))
	if !mongodb.IsDuplicate(err) {
		t.Fatalf("second insert of d1: %v, want a duplicate key", err)
	}
	if n := messages(t, db, "dispensed:d1-again"); n != 0 {
		t.Fatal("a refused change queued its message")
	}
}

func TestCrashAfterTheChangeLosesNothingAndDoublesNothing(t *testing.T) {
	q, db := setup(t)
	ctx := context.Background()
	coll := db.Collection("dispenses")
	if err := q.Track(ctx, coll); err != nil {
		t.Fatal(err)
	}
	// What a process that died right after its insert leaves: the change,
	// carrying its messages, still marked.
	crashed, err := q.Attach(ctx, dispense{ID: "d2", Qty: 1}, note("dispensed:d2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	// And one that died after queuing but before clearing the mark.
	if err := q.Insert(ctx, coll, dispense{ID: "d3", Qty: 1}, note("dispensed:d3")); err != nil {
		t.Fatal(err)
	}
	half, _ := q.Attach(ctx, dispense{ID: "d4", Qty: 1}, note("dispensed:d3"))
	if _, err := coll.InsertOne(ctx, half); err != nil {
		t.Fatal(err)
	}

	// Within the grace period the writer may still be at it: nothing moves.
	if err := q.Housekeep(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := messages(t, db, "dispensed:d2"); n != 0 {
		t.Fatal("housekeeping copied a change its writer may still be handling")
	}
	later := time.Now().Add(2 * time.Minute)
	for range 2 { // twice: a second pass (or another instance) changes nothing
		if err := q.Housekeep(ctx, later); err != nil {
			t.Fatal(err)
		}
	}
	if n := messages(t, db, "dispensed:d2"); n != 1 {
		t.Fatalf("dispensed:d2 queued %d times, want 1", n)
	}
	if n := messages(t, db, "dispensed:d3"); n != 1 {
		t.Fatalf("dispensed:d3 queued %d times, want 1", n)
	}
	if n := marked(t, coll); n != 0 {
		t.Fatalf("%d documents still marked after housekeeping", n)
	}
}

func TestConcurrentChangesQueueEachMessageOnce(t *testing.T) {
	q, db := setup(t)
	ctx := context.Background()
	coll := db.Collection("ledger")
	if err := q.Track(ctx, coll); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Pairs of writers race on each change: one wins the insert.
			id := "e" + strconv.Itoa(i/2)
			err := q.Insert(ctx, coll, dispense{ID: id, Qty: i}, note("entry:"+id))
			if err != nil && !mongodb.IsDuplicate(err) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n, _ := db.Collection(mongoqueue.MessagesCollection).CountDocuments(ctx, bson.D{})
	if n != 20 {
		t.Fatalf("%d messages queued for 20 changes", n)
	}
	if m := marked(t, coll); m != 0 {
		t.Fatalf("%d changes still marked", m)
	}
}
