package dispensing

import (
	"cmp"
	"slices"
	"time"
)

// The rules of a stock record's batches, as pure functions of the record:
// the store only ever records what these computed, one version at a time.

// usable reports whether batch b may be dispensed on day today: strictly
// before its expiry date.
func usable(b Batch, today time.Time) bool { return b.ExpiryDate.After(today) }

// sortBatches orders batches first expiry first (then by number, so the
// order is the same on every instance).
func sortBatches(bs []Batch) {
	slices.SortStableFunc(bs, func(a, b Batch) int {
		if c := a.ExpiryDate.Compare(b.ExpiryDate); c != 0 {
			return c
		}
		return cmp.Compare(a.BatchNumber, b.BatchNumber)
	})
}

// recount makes QuantityOnHand the sum of the batches, drops the batches
// used up and keeps the order: the invariant every version satisfies.
func recount(st *Stock) {
	kept := st.ExpiryDates[:0]
	var sum int64
	for _, b := range st.ExpiryDates {
		if b.Quantity > 0 {
			kept = append(kept, b)
			sum += b.Quantity
		}
	}
	st.ExpiryDates = kept
	if st.ExpiryDates == nil {
		st.ExpiryDates = []Batch{}
	}
	sortBatches(st.ExpiryDates)
	st.QuantityOnHand = sum
}

// available is what may be dispensed today: the unexpired batches.
func available(st Stock, today time.Time) int64 {
	var n int64
	for _, b := range st.ExpiryDates {
		if usable(b, today) {
			n += b.Quantity
		}
	}
	return n
}

// takeFEFO takes qty from the unexpired batches, first expiry first, and
// returns what it took of each (negative quantities, as the ledger shows a
// dispense). It takes nothing and returns false when they hold less.
func takeFEFO(st *Stock, qty int64, today time.Time) ([]BatchQuantity, bool) {
	if qty <= 0 || available(*st, today) < qty {
		return nil, false
	}
	sortBatches(st.ExpiryDates)
	var taken []BatchQuantity
	for i := range st.ExpiryDates {
		b := &st.ExpiryDates[i]
		if qty == 0 {
			break
		}
		if !usable(*b, today) || b.Quantity == 0 {
			continue
		}
		n := min(b.Quantity, qty)
		b.Quantity -= n
		qty -= n
		taken = append(taken, BatchQuantity{BatchNumber: b.BatchNumber, Quantity: -n, ExpiryDate: b.ExpiryDate})
	}
	recount(st)
	return taken, true
}

// putBack returns to their batches what a dispense took (a batch used up
// since comes back with its expiry date) and returns what it added.
func putBack(st *Stock, taken []BatchQuantity) []BatchQuantity {
	var back []BatchQuantity
	for _, t := range taken {
		n := -t.Quantity
		if n <= 0 {
			continue
		}
		i := slices.IndexFunc(st.ExpiryDates, func(b Batch) bool { return b.BatchNumber == t.BatchNumber })
		if i < 0 {
			st.ExpiryDates = append(st.ExpiryDates, Batch{BatchNumber: t.BatchNumber, ExpiryDate: t.ExpiryDate})
			i = len(st.ExpiryDates) - 1
		}
		st.ExpiryDates[i].Quantity += n
		back = append(back, BatchQuantity{BatchNumber: t.BatchNumber, Quantity: n, ExpiryDate: t.ExpiryDate})
	}
	recount(st)
	return back
}

// writeOffExpired removes every batch past its expiry and returns what it
// removed (negative quantities).
func writeOffExpired(st *Stock, today time.Time) []BatchQuantity {
	var gone []BatchQuantity
	for i := range st.ExpiryDates {
		b := &st.ExpiryDates[i]
		if b.Quantity > 0 && !usable(*b, today) {
			gone = append(gone, BatchQuantity{BatchNumber: b.BatchNumber, Quantity: -b.Quantity, ExpiryDate: b.ExpiryDate})
			b.Quantity = 0
		}
	}
	recount(st)
	return gone
}

// below reports whether the record is below its reorder level.
func below(st Stock) bool { return st.QuantityOnHand < st.ReorderLevel }

// sum adds signed batch quantities.
func sum(bs []BatchQuantity) int64 {
	var n int64
	for _, b := range bs {
		n += b.Quantity
	}
	return n
}
