package dispensing_test

import (
	"sync/atomic"
	"testing"

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
