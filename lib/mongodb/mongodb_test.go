package mongodb

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// database returns a fresh database on the shared FerretDB, through its own
// client (its own connection pool, as another instance would have).
func database(t *testing.T) (*mongo.Database, *testkit.FerretDB, string) {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	name := f.NewDatabase(t)
	return connect(t, f.URI).Database(name), f, name
}

func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, uri, "mongodb-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestConnectGivesUpWhenNothingAnswers(t *testing.T) {
	port := testkit.MustFreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	_, err := Connect(ctx, "mongodb://127.0.0.1:"+strconv.Itoa(port)+"/", "")
	if err == nil {
		t.Fatal("connected to a port nobody listens on")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	start := time.Now()
	if _, err := Connect(ctx2, "postgres://127.0.0.1/", ""); err == nil {
		t.Fatal("accepted a URI that is not MongoDB's")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("a malformed URI was retried instead of refused")
	}
}

func TestIndexesDuplicatesAndPing(t *testing.T) {
	db, _, _ := database(t)
	ctx := context.Background()
	coll := db.Collection("things")
	unique := Index{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "code", Value: 1}}, Unique: true}
	for range 2 { // ensuring twice is harmless (several instances start at once)
		if err := EnsureIndexes(ctx, coll, unique, Index{Keys: bson.D{{Key: "created_at", Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := coll.InsertOne(ctx, bson.M{"kind": "a", "code": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := coll.InsertOne(ctx, bson.M{"kind": "a", "code": 2}); err != nil {
		t.Fatal(err)
	}
	_, err := coll.InsertOne(ctx, bson.M{"kind": "a", "code": 1})
	if !IsDuplicate(err) {
		t.Fatalf("second insert of a unique pair: %v, want a duplicate-key error", err)
	}
	// An update that breaks the index is a duplicate too.
	_, err = coll.UpdateOne(ctx, bson.M{"kind": "a", "code": 2}, bson.M{"$set": bson.M{"code": 1}})
	if !IsDuplicate(err) {
		t.Fatalf("update onto a taken pair: %v, want a duplicate-key error", err)
	}
	_, err = coll.ReplaceOne(ctx, bson.M{"kind": "a", "code": 2}, bson.M{"kind": "a", "code": 1})
	if !IsDuplicate(err) {
		t.Fatalf("replace onto a taken pair: %v, want a duplicate-key error", err)
	}
	if IsDuplicate(fmt.Errorf("other")) || IsDuplicate(nil) {
		t.Fatal("IsDuplicate true for a non-duplicate error")
	}
	if err := coll.FindOne(ctx, bson.M{"kind": "zzz"}).Err(); !IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}
	if err := Ping(db.Client())(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestInsertOrGetInsertsOnce(t *testing.T) {
	db, _, _ := database(t)
	ctx := context.Background()
	coll := db.Collection("requests")
	type doc struct {
		ID    string `bson:"_id"`
		Value int    `bson:"value"`
	}
	const workers = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inserted int
		values   = map[int]bool{}
	)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got doc
			ok, err := InsertOrGet(ctx, coll, bson.M{"_id": "key-1"}, doc{ID: "key-1", Value: i}, &got)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				inserted++
				values[i] = true
			} else {
				values[got.Value] = true
			}
		}()
	}
	wg.Wait()
	if inserted != 1 {
		t.Fatalf("%d concurrent inserts of one key succeeded, want 1", inserted)
	}
	if len(values) != 1 {
		t.Fatalf("callers saw different documents: %v", values)
	}
	n, _ := coll.CountDocuments(ctx, bson.M{})
	if n != 1 {
		t.Fatalf("%d documents stored, want 1", n)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	db, _, _ := database(t)
	ctx := context.Background()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return clock }
	a := NewLeases(db.Collection("leases"), "a")
	b := NewLeases(db.Collection("leases"), "b")
	a.now, b.now = now, now
	if err := a.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}

	la, err := a.Acquire(ctx, "rec-1", time.Minute)
	if err != nil || la == nil {
		t.Fatalf("first acquire: %v %v", la, err)
	}
	if !la.Valid(30 * time.Second) {
		t.Fatal("fresh lease not valid")
	}
	if lb, err := b.Acquire(ctx, "rec-1", time.Minute); err != nil || lb != nil {
		t.Fatalf("held resource acquired again: %v %v", lb, err)
	}
	// Another resource is independent.
	if other, err := b.Acquire(ctx, "rec-2", time.Minute); err != nil || other == nil {
		t.Fatalf("independent resource: %v %v", other, err)
	}

	// Released: the next contender gets it at once.
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Acquire(ctx, "rec-1", time.Minute)
	if err != nil || lb == nil {
		t.Fatalf("acquire after release: %v %v", lb, err)
	}

	// Expired: a holder that died is taken over.
	clock = clock.Add(61 * time.Second)
	if lb.Valid(0) {
		t.Fatal("expired lease still valid")
	}
	la2, err := a.Acquire(ctx, "rec-1", time.Minute)
	if err != nil || la2 == nil {
		t.Fatalf("takeover after expiry: %v %v", la2, err)
	}
	if la2.ID != "rec-1#3" {
		t.Fatalf("claim id %q, want rec-1#3", la2.ID)
	}

	// Dropped: the claim is gone and the resource free.
	lx, _ := a.Acquire(ctx, "rec-x", time.Minute)
	if lx == nil {
		t.Fatal("rec-x not acquired")
	}
	if err := lx.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Collection("leases").FindOne(ctx, bson.D{{Key: "_id", Value: "rec-x#1"}}).Err(); !IsNotFound(err) {
		t.Fatalf("dropped claim still there: %v", err)
	}
	if again, _ := b.Acquire(ctx, "rec-x", time.Minute); again == nil || again.ID != "rec-x#1" {
		t.Fatalf("after drop: %+v", again)
	}

	// Purge removes only claims older than asked.
	clock = clock.Add(2 * time.Hour)
	la3, _ := b.Acquire(ctx, "rec-3", time.Minute)
	if la3 == nil {
		t.Fatal("rec-3 not acquired")
	}
	n, err := a.Purge(ctx, time.Hour)
	if err != nil || n != 5 {
		t.Fatalf("purged %d (%v), want the 5 old claims", n, err)
	}
	if left, _ := db.Collection("leases").CountDocuments(ctx, bson.M{}); left != 1 {
		t.Fatalf("%d claims left, want 1", left)
	}
}

// Several instances, each with its own connection pool, work through one set
// of records: every record is worked on exactly once and never by two
// holders at the same time.
func TestLeasesConcurrentWorkers(t *testing.T) {
	db, f, name := database(t)
	ctx := context.Background()
	const (
		records   = 30
		instances = 3
	)
	var (
		mu      sync.Mutex
		holding = map[string]int{}
		done    = map[string]int{}
		overlap []string
	)
	work := func(l *Leases) {
		for round := 0; round < 2; round++ {
			for i := range records {
				res := "rec-" + strconv.Itoa(i)
				lease, err := l.Acquire(ctx, res, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if lease == nil {
					continue
				}
				mu.Lock()
				holding[res]++
				if holding[res] > 1 {
					overlap = append(overlap, res)
				}
				mu.Unlock()
				// Some work while holding, so overlaps would show.
				_ = l.coll.FindOne(ctx, bson.D{{Key: "_id", Value: lease.ID}}).Err()
				mu.Lock()
				// The holder re-reads the record's state before acting, as
				// a delivery worker does.
				if done[res] == 0 {
					done[res]++
				}
				holding[res]--
				mu.Unlock()
				if err := lease.Release(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}
	var wg sync.WaitGroup
	for i := range instances {
		leases := NewLeases(connect(t, f.URI).Database(name).Collection("leases"), "inst-"+strconv.Itoa(i))
		if i == 0 {
			leases = NewLeases(db.Collection("leases"), "inst-0")
		}
		for range 2 { // two goroutines per instance
			wg.Add(1)
			go func() { defer wg.Done(); work(leases) }()
		}
	}
	wg.Wait()
	if len(overlap) > 0 {
		t.Fatalf("resources held twice at once: %v", overlap)
	}
	if len(done) != records {
		t.Fatalf("%d records worked on, want %d", len(done), records)
	}
	for res, n := range done {
		if n != 1 {
			t.Fatalf("%s worked on %d times", res, n)
		}
	}
}
