package mongokeys_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/idempotency"
	"hospital/lib/idempotency/mongokeys"
	"hospital/lib/mongodb"
	"hospital/lib/problem"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func database(t *testing.T) *mongo.Database {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongodb.Connect(ctx, f.URI, "mongokeys-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(f.NewDatabase(t))
}

// order is the work document: its _id is derived from the idempotency key,
// so doing the work twice inserts it once.
type order struct {
	ID   string `bson:"_id"`
	Test string `bson:"test"`
	Seq  int64  `bson:"seq"`
}

// create is a receiver's work: insert the order keyed by the idempotency
// key, or find the one a first run inserted, and answer with it.
func create(coll *mongo.Collection, key, test string, runs *atomic.Int64) mongokeys.Work {
	return func(ctx context.Context) (int, []byte, error) {
		seq := runs.Add(1)
		var got order
		inserted, err := mongodb.InsertOrGet(ctx, coll, bson.D{{Key: "_id", Value: "order-" + key}},
			order{ID: "order-" + key, Test: test, Seq: seq}, &got)
		if err != nil {
			return 0, nil, err
		}
		if inserted {
			got = order{ID: "order-" + key, Test: test, Seq: seq}
		}
		return http.StatusCreated, []byte(fmt.Sprintf(`{"id":%q,"seq":%d}`, got.ID, got.Seq)), nil
	}
}

func count(t *testing.T, coll *mongo.Collection) int64 {
	t.Helper()
	n, err := coll.CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConcurrentDuplicatesActOnce(t *testing.T) {
	db := database(t)
	ctx := context.Background()
	keys := mongokeys.New(db, mongokeys.Options{})
	orders := db.Collection("orders")
	fp := idempotency.Fingerprint([]byte("POST /orders"), []byte(`{"test":"CBC"}`))
	var runs atomic.Int64

	var wg sync.WaitGroup
	answers := make([]idempotency.Stored, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := keys.Do(ctx, "lab-orders", "key-1", fp, create(orders, "key-1", "CBC", &runs))
			if err != nil || st.Status != http.StatusCreated {
				t.Errorf("call %d: %+v %v", i, st, err)
			}
			answers[i] = st
		}()
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("20 concurrent calls with one key did the work %d times", n)
	}
	if n := count(t, orders); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
	for _, a := range answers {
		if string(a.Body) != string(answers[0].Body) {
			t.Fatalf("answers differ: %s vs %s", a.Body, answers[0].Body)
		}
	}

	// The same key for another request is refused and changes nothing.
	_, err := keys.Do(ctx, "lab-orders", "key-1", idempotency.Fingerprint([]byte("other")), create(orders, "key-1", "LFT", &runs))
	if p, ok := problem.As(err); !ok || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key: %v, want 422", err)
	}
	// The same key in another scope, or a new key, acts again.
	if _, err := keys.Do(ctx, "lab-results", "key-1", fp, create(db.Collection("results"), "key-1", "CBC", &runs)); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Do(ctx, "lab-orders", "key-2", fp, create(orders, "key-2", "CBC", &runs)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, orders); n != 2 || runs.Load() != 3 {
		t.Fatalf("%d orders after %d runs, want 2 and 3", n, runs.Load())
	}
}

func TestFailedWorkLetsARetryTryAgain(t *testing.T) {
	db := database(t)
	ctx := context.Background()
	keys := mongokeys.New(db, mongokeys.Options{})
	orders := db.Collection("orders")
	var runs atomic.Int64
	boom := errors.New("the lab catalog was unreachable")
	_, err := keys.Do(ctx, "lab-orders", "k", "fp", func(context.Context) (int, []byte, error) { return 0, nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("failed work: %v", err)
	}
	st, err := keys.Do(ctx, "lab-orders", "k", "fp", create(orders, "k", "CBC", &runs))
	if err != nil || st.Status != http.StatusCreated || count(t, orders) != 1 {
		t.Fatalf("retry after a failure: %+v %v", st, err)
	}
}

func TestClaimOfADeadRequestIsTakenOverWithoutDoubling(t *testing.T) {
	db := database(t)
	ctx := context.Background()
	keys := mongokeys.New(db, mongokeys.Options{Abandoned: time.Minute})
	orders := db.Collection("orders")
	var runs atomic.Int64
	// A request claimed the key, inserted its order and died before it
	// stored its answer.
	if err := keys.LeaveClaim(ctx, "lab-orders", "k", "fp", time.Now().Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.InsertOne(ctx, order{ID: "order-k", Test: "CBC", Seq: 42}); err != nil {
		t.Fatal(err)
	}
	st, err := keys.Do(ctx, "lab-orders", "k", "fp", create(orders, "k", "CBC", &runs))
	if err != nil || st.Status != http.StatusCreated || string(st.Body) != `{"id":"order-k","seq":42}` {
		t.Fatalf("takeover: %+v %v; want the dead request's order", st, err)
	}
	if n := count(t, orders); n != 1 {
		t.Fatalf("%d orders after the takeover, want 1", n)
	}
	// From now on the answer is replayed.
	again, err := keys.Do(ctx, "lab-orders", "k", "fp", func(context.Context) (int, []byte, error) {
		t.Fatal("work ran again after an answer was stored")
		return 0, nil, nil
	})
	if err != nil || string(again.Body) != string(st.Body) {
		t.Fatalf("replay: %+v %v", again, err)
	}
}

func TestDuplicateOfASlowRequestIsAConflict(t *testing.T) {
	db := database(t)
	ctx := context.Background()
	keys := mongokeys.New(db, mongokeys.Options{Wait: 200 * time.Millisecond})
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := keys.Do(ctx, "s", "k", "fp", func(context.Context) (int, []byte, error) {
			close(started)
			<-release
			return http.StatusCreated, []byte(`{}`), nil
		})
		done <- err
	}()
	<-started
	_, err := keys.Do(ctx, "s", "k", "fp", func(context.Context) (int, []byte, error) {
		t.Error("a duplicate ran the work while the first was in progress")
		return 0, nil, nil
	})
	if p, ok := problem.As(err); !ok || p.Status != http.StatusConflict {
		t.Fatalf("duplicate of a request in progress: %v, want 409", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWithoutAKeyTheWorkJustRuns(t *testing.T) {
	db := database(t)
	keys := mongokeys.New(db, mongokeys.Options{})
	runs := 0
	for range 2 {
		if _, err := keys.Do(context.Background(), "s", "", "fp", func(context.Context) (int, []byte, error) {
			runs++
			return http.StatusCreated, nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 2 {
		t.Fatalf("runs = %d, want 2", runs)
	}
}
