package mongodb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/testkit"
)

// BenchmarkFilteredSortedFind compares FerretDB's backends on the query
// every list endpoint makes: find({status: X}).sort({created_at: -1}).limit(10)
// over 20,000 documents with indexes on the field and on (field, created_at):
// a field with 20 values (1,000 matches each) and one with 200 (100 each).
// Each backend runs in a server of its own.
//
//	cd lib && go test -run '^$' -bench FilteredSortedFind -benchtime 50x ./mongodb
func BenchmarkFilteredSortedFind(b *testing.B) {
	for _, backend := range []testkit.FerretBackend{testkit.FerretPostgreSQL, testkit.FerretSQLite} {
		b.Run(string(backend), func(b *testing.B) {
			f := testkit.StartFerretDB(b, backend)
			ctx := context.Background()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			client, err := Connect(cctx, f.URI, "bench")
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = client.Disconnect(ctx) })
			coll := client.Database("bench").Collection("logs")
			err = EnsureIndexes(ctx, coll,
				Index{Keys: bson.D{{Key: "status", Value: 1}}},
				Index{Keys: bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: -1}}},
				Index{Keys: bson.D{{Key: "ward", Value: 1}}},
				Index{Keys: bson.D{{Key: "ward", Value: 1}, {Key: "created_at", Value: -1}}})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			batch := make([]any, 0, 1000)
			for i := range 20000 {
				batch = append(batch, bson.D{
					{Key: "status", Value: fmt.Sprintf("S%02d", i%20)},
					{Key: "ward", Value: fmt.Sprintf("W%03d", i%200)},
					{Key: "created_at", Value: start.Add(time.Duration(i) * time.Second)},
					{Key: "recipient_id", Value: int64(i % 500)},
					{Key: "subject", Value: "Appointment reminder"},
				})
				if len(batch) == cap(batch) {
					if _, err := coll.InsertMany(ctx, batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).SetLimit(10)
			for _, q := range []struct {
				name, field, format string
				values              int
			}{{"1000-matches", "status", "S%02d", 20}, {"100-matches", "ward", "W%03d", 200}} {
				b.Run(q.name, func(b *testing.B) {
					i := 0
					for b.Loop() {
						cur, err := coll.Find(ctx, bson.D{{Key: q.field, Value: fmt.Sprintf(q.format, i%q.values)}}, opts)
						if err != nil {
							b.Fatal(err)
						}
						var docs []bson.M
						if err := cur.All(ctx, &docs); err != nil {
							b.Fatal(err)
						}
						if len(docs) != 10 {
							b.Fatalf("%d documents, want 10", len(docs))
						}
						i++
					}
				})
			}
		})
	}
}
