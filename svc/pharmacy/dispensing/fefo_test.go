package dispensing

import (
	"testing"
	"time"
)

func day(n int) time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }

func TestTakeFEFOSkipsExpiredAndTakesEarliestFirst(t *testing.T) {
	today := day(10)
	st := Stock{ExpiryDates: []Batch{
		{BatchNumber: "LATE", Quantity: 5, ExpiryDate: day(40)},
		{BatchNumber: "TODAY", Quantity: 9, ExpiryDate: day(10)}, // expires today: not usable
		{BatchNumber: "EARLY", Quantity: 3, ExpiryDate: day(11)},
		{BatchNumber: "MID-B", Quantity: 2, ExpiryDate: day(20)},
		{BatchNumber: "MID-A", Quantity: 2, ExpiryDate: day(20)},
	}}
	recount(&st)
	if st.QuantityOnHand != 21 || available(st, today) != 12 {
		t.Fatalf("on hand %d, available %d", st.QuantityOnHand, available(st, today))
	}
	if _, ok := takeFEFO(&st, 13, today); ok || st.QuantityOnHand != 21 {
		t.Fatal("took more than is available, or changed the record when short")
	}
	taken, ok := takeFEFO(&st, 6, today)
	if !ok || len(taken) != 3 || taken[0].BatchNumber != "EARLY" || taken[0].Quantity != -3 ||
		taken[1].BatchNumber != "MID-A" || taken[1].Quantity != -2 || taken[2].BatchNumber != "MID-B" || taken[2].Quantity != -1 {
		t.Fatalf("taken %+v", taken)
	}
	if st.QuantityOnHand != 15 || len(st.ExpiryDates) != 3 || st.ExpiryDates[0].BatchNumber != "TODAY" {
		t.Fatalf("after: %+v", st)
	}
	back := putBack(&st, taken)
	if sum(back) != 6 || st.QuantityOnHand != 21 || len(st.ExpiryDates) != 5 {
		t.Fatalf("put back: %+v %+v", back, st)
	}
	gone := writeOffExpired(&st, today)
	if len(gone) != 1 || gone[0].BatchNumber != "TODAY" || st.QuantityOnHand != 12 {
		t.Fatalf("write-off: %+v", gone)
	}
}

func TestSpreadSharesBatchesAmongLines(t *testing.T) {
	lines := []DispensedItem{
		{PrescriptionItemIDRef: "1", MedicationID: "m", QuantityDispensed: 4},
		{PrescriptionItemIDRef: "2", MedicationID: "x", QuantityDispensed: 9},
		{PrescriptionItemIDRef: "3", MedicationID: "m", QuantityDispensed: 3},
	}
	spread(lines, "m", []BatchQuantity{{BatchNumber: "A", Quantity: -2}, {BatchNumber: "B", Quantity: -5}})
	a, c := lines[0].Batches, lines[2].Batches
	if len(a) != 2 || a[0].BatchNumber != "A" || a[0].Quantity != 2 || a[1].BatchNumber != "B" || a[1].Quantity != 2 ||
		len(c) != 1 || c[0].BatchNumber != "B" || c[0].Quantity != 3 || lines[1].Batches != nil {
		t.Fatalf("spread: %+v %+v", a, c)
	}
}
