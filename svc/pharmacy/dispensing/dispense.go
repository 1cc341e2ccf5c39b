package dispensing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// Dispense gives out medication for a prescription (PHARMACIST; the caller
// is the pharmacist): per item, at most what was prescribed and not yet
// dispensed; stock is taken first expiry first out, never from an expired
// batch. Not enough unexpired stock is a 409 naming what is short, and
// nothing is dispensed.
//
// There is no transaction across the prescription and the stock records,
// so a dispense is a short saga, each step one versioned change (see
// docs in store and the README):
//
//  1. reserve: the prescription records the dispense as pending, which
//     holds its quantities against every other dispense of it;
//  2. take: each medication's stock record gives its quantity, FEFO, in
//     the order of the medication ids; a record short of stock refuses,
//     and what the earlier ones gave is put back;
//  3. commit: the dispense log is inserted under the dispense's id;
//  4. finish: the prescription moves the dispense from pending to its
//     history, updates its status and sends the invoice request (flow F6).
//
// A dispense interrupted by a crash is finished (its log exists) or rolled
// back (it does not) by RecoverDispenses, under a lease on its id, once it
// is older than DISPENSE_LEASE.
func (s *Service) Dispense(ctx context.Context, prescriptionID, key string, in DispenseRequest) (Result[DispenseLog], error) {
	c, err := caller(ctx)
	if err != nil {
		return Result[DispenseLog]{}, err
	}
	if in.PharmacistID != 0 && in.PharmacistID != c.UserID {
		return Result[DispenseLog]{}, errPharmacistNotCaller
	}
	if !validID(prescriptionID) {
		return Result[DispenseLog]{}, errNotFound
	}
	return once(ctx, s, "dispense", key, fingerprint(c.UserID, prescriptionID, in), func(ctx context.Context) (DispenseLog, error) {
		id := newID(s.now())
		if key != "" {
			id = idFromKey("dispense", strconv.FormatInt(c.UserID, 10), prescriptionID, key)
		}
		return s.dispense(ctx, c, prescriptionID, id, key != "", in)
	})
}

// dispense runs dispense id. A keyed one (its id comes from an
// Idempotency-Key) may be a repeat of a recorded dispense, or of one that
// died half-way: it works under a lease on its id and looks first. A fresh
// id has no past, and needs neither: the recovery leaves a dispense alone
// until DISPENSE_LEASE after its reservation, long after its worker gave up
// (DISPENSE_TIMEOUT).
func (s *Service) dispense(ctx context.Context, c auth.Identity, prescriptionID, id string, keyed bool, in DispenseRequest) (DispenseLog, error) {
	if keyed {
		if d, err := s.store.DispenseLog(ctx, id); err == nil {
			return s.recorded(ctx, d) // this very dispense, asked again
		} else if !errors.Is(err, ErrNotFound) {
			return DispenseLog{}, storeErr(err, "read dispense log "+id)
		}
	}
	// Plan and check early from the projections (one read each); only a
	// refusal is looked at again on the latest versions, so that a change
	// in flight does not refuse a dispense the latest state allows.
	p, err := s.store.PrescriptionSnapshot(ctx, prescriptionID)
	if err != nil {
		return DispenseLog{}, storeErr(err, "read prescription "+prescriptionID)
	}
	lines, err := s.plan(ctx, p, id, in)
	if _, refused := apperr.As(err); refused {
		if p, err = s.store.Prescription(ctx, prescriptionID); err != nil {
			return DispenseLog{}, storeErr(err, "read prescription "+prescriptionID)
		}
		lines, err = s.plan(ctx, p, id, in)
	}
	if err != nil {
		return DispenseLog{}, err
	}
	if err := s.precheck(ctx, lines, s.store.StockSnapshot); err != nil {
		if _, refused := apperr.As(err); !refused {
			return DispenseLog{}, err
		}
		if err := s.precheck(ctx, lines, s.store.Stock); err != nil {
			return DispenseLog{}, err
		}
	}

	// From here the work runs to its end even if the client goes away, and
	// stops well before the lease runs out (see Config.DispenseLease).
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DispenseTimeout)
	defer cancel()
	if keyed {
		release, err := s.store.Lease(ctx, leaseName(id), s.cfg.DispenseLease)
		if err != nil {
			return DispenseLog{}, storeErr(err, "lease dispense "+id)
		}
		if release == nil {
			return DispenseLog{}, errDispenseBusy
		}
		defer release(wctx)
		// Under the lease, look again: an earlier holder may have
		// recorded this dispense, or left it half done.
		if d, err := s.store.DispenseLog(wctx, id); err == nil {
			return d, s.finish(wctx, d)
		}
		if p, err = s.store.Prescription(wctx, prescriptionID); err != nil {
			return DispenseLog{}, storeErr(err, "read prescription "+prescriptionID)
		}
		if i := slices.IndexFunc(p.Pending, func(x PendingDispense) bool { return x.DispenseLogID == id }); i >= 0 {
			if err := s.rollback(wctx, actorOf(c), prescriptionID, p.Pending[i]); err != nil {
				return DispenseLog{}, err
			}
		}
	}

	pd := PendingDispense{DispenseLogID: id, PharmacistID: c.UserID, Items: pendingLines(lines), At: s.now().UTC()}
	if _, err := s.store.UpdatePrescription(wctx, prescriptionID, func(p *Prescription) ([]outbox.Message, error) {
		if err := checkLines(*p, id, pd.Items); err != nil {
			return nil, err
		}
		p.Pending = append(p.Pending, pd)
		p.Dispensing = true
		return nil, nil
	}); err != nil {
		return DispenseLog{}, storeErr(err, "reserve dispense "+id)
	}

	if err := s.take(wctx, c, prescriptionID, id, lines); err != nil {
		// Nothing is committed: put back what was taken and let go of the
		// reservation. If that fails too, the recovery does it later.
		if rerr := s.rollback(wctx, actorOf(c), prescriptionID, pd); rerr != nil {
			s.log.Warn("dispense refused, its rollback left to the recovery", "dispense_log_id", id, "err", rerr.Error())
		}
		return DispenseLog{}, err
	}

	d := DispenseLog{ID: id, PrescriptionID: prescriptionID, PatientID: p.PatientID, PharmacistID: c.UserID,
		DateDispensed: s.now().UTC(), DispensedItems: lines, PaymentStatus: PaymentPendingBilling, TotalPrice: ZeroMoney}
	for _, it := range d.DispensedItems {
		d.TotalPrice = d.TotalPrice.Plus(it.TotalPrice)
	}
	if err := s.store.InsertDispenseLog(wctx, d); err != nil && !errors.Is(err, ErrDuplicate) {
		// The insert may have landed: only the recovery, which looks for
		// the log, may decide between finishing and rolling back.
		return DispenseLog{}, storeErr(err, "record dispense "+id)
	}
	if err := s.finish(wctx, d); err != nil {
		// The dispense is recorded; the recovery finishes the prescription.
		s.log.Warn("dispense recorded, its prescription left to the recovery", "dispense_log_id", id, "err", err.Error())
	}
	return d, nil
}

// leaseName is the lease a dispense is worked on under.
func leaseName(dispenseID string) string { return "dispense:" + dispenseID }

// plan turns the request into dispense lines (with the catalog price),
// checked against the prescription as read.
func (s *Service) plan(ctx context.Context, p Prescription, id string, in DispenseRequest) ([]DispensedItem, error) {
	lines := make([]DispensedItem, 0, len(in.ItemsDispensed))
	prices := map[string]Money{}
	for i, x := range in.ItemsDispensed {
		field := fmt.Sprintf("items_dispensed[%d].prescription_item_id_ref", i)
		j := slices.IndexFunc(p.Items, func(it Item) bool { return it.ItemID == x.PrescriptionItemIDRef })
		if j < 0 {
			return nil, apperr.Field(field, "No item with this id on the prescription.")
		}
		if slices.ContainsFunc(lines, func(l DispensedItem) bool { return l.PrescriptionItemIDRef == x.PrescriptionItemIDRef }) {
			return nil, apperr.Field(field, "This item is listed twice.")
		}
		it := p.Items[j]
		price, ok := prices[it.MedicationID]
		if !ok {
			m, err := s.medication(ctx, it.MedicationID)
			if err != nil {
				return nil, err
			}
			price, prices[it.MedicationID] = m.UnitPrice, m.UnitPrice
		}
		lines = append(lines, DispensedItem{PrescriptionItemIDRef: it.ItemID, MedicationID: it.MedicationID,
			MedicationName: it.MedicationName, QuantityDispensed: x.QuantityDispensed, UnitPrice: price,
			TotalPrice: price.Times(x.QuantityDispensed), Batches: []BatchQuantity{}})
	}
	return lines, checkLines(p, id, pendingLines(lines))
}

// checkLines is the rule dispense id must meet against a prescription: its
// status allows dispensing, and no line asks for more than the item's
// prescribed quantity less what is dispensed or reserved by the other
// dispenses under way (an earlier attempt of id itself is rolled back
// before id reserves again).
func checkLines(p Prescription, id string, lines []PendingLine) error {
	if p.Status != StatusVerified && p.Status != StatusDispensedPartial {
		return errStatus("dispensed", p.Status)
	}
	var excess []Excess
	for _, l := range lines {
		j := slices.IndexFunc(p.Items, func(it Item) bool { return it.ItemID == l.PrescriptionItemIDRef })
		if j < 0 {
			return apperr.Field("items_dispensed", "No item "+l.PrescriptionItemIDRef+" on the prescription.")
		}
		it := p.Items[j]
		left := it.QuantityPrescribed - it.QuantityDispensed - reserved(p, id, it.ItemID)
		if l.QuantityDispensed > left {
			excess = append(excess, Excess{PrescriptionItemIDRef: it.ItemID, MedicationName: it.MedicationName,
				Requested: l.QuantityDispensed, Remaining: max(left, 0)})
		}
	}
	if len(excess) > 0 {
		return errExcess(excess)
	}
	return nil
}

// reserved is what the dispenses under way, but id, hold of an item.
func reserved(p Prescription, id, itemID string) int64 {
	var n int64
	for _, pd := range p.Pending {
		if pd.DispenseLogID == id {
			continue
		}
		for _, l := range pd.Items {
			if l.PrescriptionItemIDRef == itemID {
				n += l.QuantityDispensed
			}
		}
	}
	return n
}

// needs is what lines take of each medication, in the order stock is
// taken (by medication id: every dispense takes in the same order).
func needs(lines []PendingLine) ([]string, map[string]int64) {
	total := map[string]int64{}
	var ids []string
	for _, l := range lines {
		if _, ok := total[l.MedicationID]; !ok {
			ids = append(ids, l.MedicationID)
		}
		total[l.MedicationID] += l.QuantityDispensed
	}
	slices.Sort(ids)
	return ids, total
}

// precheck refuses, before anything is written, a dispense the stock as
// read cannot serve (the take decides, this only spares the writes).
func (s *Service) precheck(ctx context.Context, dl []DispensedItem, read func(context.Context, string) (Stock, error)) error {
	lines := pendingLines(dl)
	ids, total := needs(lines)
	today := s.today()
	var short []Shortage
	for _, id := range ids {
		st, err := read(ctx, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr(err, "read stock of "+id)
		}
		if have := available(st, today); have < total[id] {
			short = append(short, Shortage{MedicationID: id, MedicationName: nameOf(lines, id), Requested: total[id], Available: have})
		}
	}
	if len(short) > 0 {
		return errShort(short)
	}
	return nil
}

// take takes each medication's quantity from its stock record, FEFO, for
// dispense id, and notes on the lines which batches each came from. It
// stops at the first record short of unexpired stock.
func (s *Service) take(ctx context.Context, c auth.Identity, prescriptionID, id string, lines []DispensedItem) error {
	pl := pendingLines(lines)
	ids, total := needs(pl)
	today := s.today()
	for _, mid := range ids {
		var taken []BatchQuantity
		var short *Shortage
		med := Medication{ID: mid, Name: nameOf(pl, mid)}
		_, err := s.changeStock(ctx, med, actorOf(c), func(st *Stock) (Movement, []outbox.Message, error) {
			t, ok := takeFEFO(st, total[mid], today)
			if !ok {
				short = &Shortage{MedicationID: mid, MedicationName: med.Name, Requested: total[mid], Available: available(*st, today)}
				return Movement{}, nil, errShort([]Shortage{*short})
			}
			taken = t
			return Movement{Kind: MovementDispense, Batches: t, Reason: "dispense",
				DispenseLogID: &id, PrescriptionID: &prescriptionID}, nil, nil
		})
		if err != nil {
			if short != nil {
				return errShort([]Shortage{*short})
			}
			return storeErr(err, "take stock of "+mid+" for dispense "+id)
		}
		spread(lines, mid, taken)
	}
	return nil
}

// pendingLines is what a dispense under way keeps of its lines.
func pendingLines(lines []DispensedItem) []PendingLine {
	out := make([]PendingLine, len(lines))
	for i, l := range lines {
		out[i] = PendingLine{PrescriptionItemIDRef: l.PrescriptionItemIDRef, MedicationID: l.MedicationID,
			MedicationName: l.MedicationName, QuantityDispensed: l.QuantityDispensed}
	}
	return out
}

// spread shares out what was taken of a medication (negative batch
// quantities) among its lines, in order, as positive quantities.
func spread(lines []DispensedItem, medicationID string, taken []BatchQuantity) {
	k := 0
	left := int64(0)
	if len(taken) > 0 {
		left = -taken[0].Quantity
	}
	for i := range lines {
		l := &lines[i]
		if l.MedicationID != medicationID {
			continue
		}
		need := l.QuantityDispensed
		l.Batches = []BatchQuantity{}
		for need > 0 && k < len(taken) {
			n := min(need, left)
			l.Batches = append(l.Batches, BatchQuantity{BatchNumber: taken[k].BatchNumber, Quantity: n, ExpiryDate: taken[k].ExpiryDate})
			need, left = need-n, left-n
			if left == 0 {
				if k++; k < len(taken) {
					left = -taken[k].Quantity
				}
			}
		}
	}
}

func nameOf(lines []PendingLine, medicationID string) string {
	for _, l := range lines {
		if l.MedicationID == medicationID {
			return l.MedicationName
		}
	}
	return medicationID
}
