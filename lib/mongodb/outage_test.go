package mongodb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/testkit"
)

// outageOps are the operations a request makes; each must fail on its own,
// well inside the caller's deadline, with an error Unreachable recognises.
func outageOps(t *testing.T, db string, uri string) func(what string) {
	c := connect(t, uri)
	coll := c.Database(db).Collection("things")
	if _, err := coll.InsertOne(context.Background(), bson.M{"_id": "a"}); err != nil {
		t.Fatal(err)
	}
	return func(what string) {
		t.Helper()
		ops := map[string]func(ctx context.Context) error{
			"find":   func(ctx context.Context) error { return coll.FindOne(ctx, bson.M{"_id": "a"}).Err() },
			"insert": func(ctx context.Context) error { _, err := coll.InsertOne(ctx, bson.M{"n": 1}); return err },
			"update": func(ctx context.Context) error {
				_, err := coll.UpdateOne(ctx, bson.M{"_id": "a"}, bson.M{"$set": bson.M{"n": 2}})
				return err
			},
			"ping": Ping(c),
		}
		for name, op := range ops {
			// A deadline far beyond the driver's own limits: if the
			// operation only ends when this passes, nothing bounded it.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := time.Now()
			err := op(ctx)
			took := time.Since(start)
			expired := ctx.Err()
			cancel()
			if err == nil {
				t.Fatalf("%s: %s succeeded", what, name)
			}
			if expired != nil {
				t.Fatalf("%s: %s waited for the caller's deadline: %v", what, name, err)
			}
			if !Unreachable(err) {
				t.Fatalf("%s: %s failed with %v, which Unreachable does not recognise", what, name, err)
			}
			t.Logf("%s: %s failed after %s", what, name, took.Round(time.Millisecond))
		}
	}
}

func TestStoreOutageFailsFastAndIsRecognised(t *testing.T) {
	f := testkit.StartFerretDB(t, testkit.FerretPostgreSQL)
	check := outageOps(t, "outage", f.URI)
	f.Kill()
	check("FerretDB stopped")
	check("FerretDB still stopped")
}

func TestBackendOutageIsRecognised(t *testing.T) {
	f := testkit.StartFerretDB(t, testkit.FerretPostgreSQL)
	check := outageOps(t, "outage", f.URI)
	c := connect(t, f.URI)
	f.KillPostgreSQL()
	// Connections FerretDB already holds may serve a moment longer while
	// PostgreSQL's processes go: wait until the outage shows.
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		if err := c.Database("outage").Collection("things").FindOne(ctx, bson.M{"_id": "a"}).Err(); err == nil {
			return errors.New("still answering")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("PostgreSQL under FerretDB stopped")
}

func TestUnreachableOnlyForOutages(t *testing.T) {
	db, _, _ := database(t)
	ctx := context.Background()
	coll := db.Collection("things")
	if _, err := coll.InsertOne(ctx, bson.M{"_id": "a"}); err != nil {
		t.Fatal(err)
	}
	_, dup := coll.InsertOne(ctx, bson.M{"_id": "a"})
	missing := coll.FindOne(ctx, bson.M{"_id": "zzz"}).Err()
	_, bad := coll.UpdateOne(ctx, bson.M{"_id": "a"}, bson.M{"$nope": bson.M{"n": 1}})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	canceled := coll.FindOne(cctx, bson.M{"_id": "a"}).Err()
	for name, err := range map[string]error{
		"nil": nil, "duplicate": dup, "not found": missing, "bad update": bad,
		"cancelled": canceled, "other": errors.New("boom"),
	} {
		if name != "nil" && err == nil {
			t.Fatalf("%s: expected an error", name)
		}
		if Unreachable(err) || Unreachable(fmt.Errorf("wrapped: %w", err)) {
			t.Fatalf("Unreachable(%s: %v) = true", name, err)
		}
	}
}
