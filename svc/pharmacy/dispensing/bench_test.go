package dispensing_test

import (
	"sync/atomic"
	"testing"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// BenchmarkDispense dispenses one unit at a time from 32 prescriptions at
// once, on two instances, straight through the domain and the store (no
// HTTP): the cost of the saga on FerretDB. "one medication" puts every
// dispense on the same stock record; "eight medications" spreads them.
//
//	go test -run '^$' -bench BenchmarkDispense ./dispensing/
func BenchmarkDispense(b *testing.B) {
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
			var ps []dispensing.Prescription
			for i := range 32 {
				ps = append(ps, e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: ms[i%meds], Quantity: 1_000_000}))
			}
			var next atomic.Int64
			b.SetParallelism(16) // 32 goroutines with GOMAXPROCS=2
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(1) - 1
				p := ps[int(i)%len(ps)]
				svc := svcs[int(i)%len(svcs)]
				ctx := e.As(e.PharmacistA)
				in := dispensing.DispenseRequest{ItemsDispensed: []dispensing.DispenseItemRequest{{PrescriptionItemIDRef: p.Items[0].ItemID, QuantityDispensed: 1}}}
				for pb.Next() {
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
