package laboratory_test

import (
	"context"
	"sync/atomic"
	"testing"

	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

// BenchmarkEnterResult enters results, in parallel, on the items of 200
// collected orders through the domain Service against FerretDB (no HTTP):
// what one result entry costs the service and the store. Every entry is a
// new version of its order (the first, a result; later ones, corrections).
// The parts: reading the order, reading the catalog test, recording the
// change.
func BenchmarkEnterResult(b *testing.B) {
	e := labtest.NewEnv(b)
	orders := make([]laboratory.Order, 200)
	for i := range orders {
		o := e.Order(b, e.Man, "GLU")
		o, err := e.Svc.SetOrderStatus(e.As(e.Tech), o.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusSampleCollected})
		if err != nil {
			b.Fatal(err)
		}
		orders[i] = o
	}
	tech := e.As(e.Tech)
	b.Run("whole", func(b *testing.B) {
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := seq.Add(1)
				o := orders[int(i)%len(orders)]
				_, err := e.Svc.EnterResult(tech, o.ID, o.Items[0].ItemID, laboratory.ResultRequest{
					ResultValues: map[string]laboratory.AnalyteInput{"glucose": {Value: fl(4 + float64(i%97)/20)}}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("read order", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := e.Store.Order(context.Background(), orders[i%len(orders)].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read test", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.Store.Test(context.Background(), e.Catalog["GLU"].ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("record a change", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_, err := e.Store.UpdateOrder(context.Background(), orders[i%len(orders)].ID, func(o *laboratory.Order, _ *laboratory.Change) error {
				o.NotesForLab = "bench"
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
