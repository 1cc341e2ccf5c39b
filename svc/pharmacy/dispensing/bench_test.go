package dispensing_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// BenchmarkDispense dispenses one unit at a time, 32 at once, on two
// instances, straight through the domain and the store (no HTTP): the cost
// of the saga on FerretDB. Each prescription is dispensed 10 times, one
// unit each. "one_medication" puts every dispense on the same stock record;
// "eight_medications" spreads them.
//
//	go test -run '^$' -bench BenchmarkDispense ./dispensing/
func BenchmarkDispense(b *testing.B) {
	const perPrescription = 10
	for _, meds := range []int{1, 8} {
		b.Run(map[int]string{1: "one_medication", 8: "eight_medications"}[meds], func(b *testing.B) {
			e := dt.New(b, nil)
			svcs := []*dispensing.Service{e.Svc}
			other, _ := e.Instance()
			svcs = append(svcs, other)
			var ms []dispensing.Medication
			for i := range meds {
				m := e.Medication("BENCH"+string(rune('A'+i)), "Bench "+string(rune('A'+i)), "Bench", "1000")
				e.Receive(m.ID, "B1", 1_000_000, 200)
				ms = append(ms, m)
			}
			// Dispenses in turn over the prescriptions, so that concurrent
			// ones are of different prescriptions.
			n := max(64, (b.N+perPrescription-1)/perPrescription)
			var ps []dispensing.Prescription
			for i := range n {
				ps = append(ps, e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: ms[i%meds], Quantity: perPrescription}))
			}
			var next, inst atomic.Int64
			b.SetParallelism(16) // 32 goroutines with GOMAXPROCS=2
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				svc := svcs[int(inst.Add(1))%len(svcs)]
				ctx := e.As(e.PharmacistA)
				for pb.Next() {
					p := ps[int(next.Add(1)-1)%len(ps)]
					in := dispensing.DispenseRequest{ItemsDispensed: []dispensing.DispenseItemRequest{{PrescriptionItemIDRef: p.Items[0].ItemID, QuantityDispensed: 1}}}
					if _, err := svc.Dispense(ctx, p.ID, "", in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			var left int64
			for _, m := range ms {
				left += e.Stock(m.ID).QuantityOnHand
			}
			if left != int64(meds)*1_000_000-int64(b.N) {
				b.Fatalf("%d on hand after %d dispenses", left, b.N)
			}
		})
	}
}

// BenchmarkFerretDBRoundTrip is the ceiling the dispense is measured
// against, on the same server: 32 goroutines making one kind of round trip
// a dispense is made of, on documents of a prescription's size (about
// 1 KB). A dispense makes 24: 11 finds by _id, 7 inserts, 3 replaces of a
// projection, 3 updates of one field.
//
//	go test -run '^$' -bench BenchmarkFerretDBRoundTrip ./dispensing/
func BenchmarkFerretDBRoundTrip(b *testing.B) {
	e := dt.New(b, nil)
	coll := e.DB.Collection("bench_round_trips")
	pad := strings.Repeat("x", 1000)
	doc := func(id int64) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "pending", Value: true}, {Key: "pad", Value: pad}}
	}
	ctx := context.Background()
	for i := range int64(64) {
		if _, err := coll.InsertOne(ctx, doc(-1-i)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	ops := map[string]func(id int64) error{
		"insert": func(id int64) error { _, err := coll.InsertOne(ctx, doc(id)); return err },
		"find_by_id": func(id int64) error {
			return coll.FindOne(ctx, bson.D{{Key: "_id", Value: -1 - id%64}}).Err()
		},
		"replace": func(id int64) error {
			_, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: -1 - id%64}}, doc(-1-id%64))
			return err
		},
		"update_one_field": func(id int64) error {
			_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: -1 - id%64}}, bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: id%2 == 0}}}})
			return err
		},
	}
	for _, name := range []string{"insert", "find_by_id", "replace", "update_one_field"} {
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := ops[name](next.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
