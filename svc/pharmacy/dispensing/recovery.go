package dispensing

import (
	"context"
	"errors"
	"slices"

	"hospital/lib/outbox"
)

// recorded answers a dispense asked again once its log exists, finishing
// its prescription if that is still to do.
func (s *Service) recorded(ctx context.Context, d DispenseLog) (DispenseLog, error) {
	p, err := s.store.Prescription(ctx, d.PrescriptionID)
	if err != nil {
		return DispenseLog{}, storeErr(err, "read prescription "+d.PrescriptionID)
	}
	if !slices.ContainsFunc(p.Pending, func(x PendingDispense) bool { return x.DispenseLogID == d.ID }) {
		return d, nil
	}
	release, err := s.store.Lease(ctx, leaseName(d.ID), s.cfg.DispenseLease)
	if err != nil || release == nil {
		return d, nil // its holder finishes it, or the recovery does
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DispenseTimeout)
	defer cancel()
	defer release(wctx)
	if err := s.finish(wctx, d); err != nil {
		s.log.Warn("dispense recorded, its prescription left to the recovery", "dispense_log_id", d.ID, "err", err.Error())
	}
	return d, nil
}

// finish moves a recorded dispense from the prescription's pending
// dispenses to its history, sets the status (DISPENSED_FULL when every item
// is given in full) and sends the invoice request and the audit event.
func (s *Service) finish(ctx context.Context, d DispenseLog) error {
	_, err := s.store.UpdatePrescription(ctx, d.PrescriptionID, func(p *Prescription) ([]outbox.Message, error) {
		i := slices.IndexFunc(p.Pending, func(x PendingDispense) bool { return x.DispenseLogID == d.ID })
		if i < 0 {
			return nil, errNoChange // finished already
		}
		p.Pending = slices.Delete(p.Pending, i, i+1)
		p.Dispensing = len(p.Pending) > 0
		entry := DispenseEntry{DispenseLogID: d.ID, PharmacistID: d.PharmacistID, DateDispensed: d.DateDispensed}
		for _, l := range d.DispensedItems {
			j := slices.IndexFunc(p.Items, func(it Item) bool { return it.ItemID == l.PrescriptionItemIDRef })
			if j >= 0 {
				p.Items[j].QuantityDispensed += l.QuantityDispensed
			}
			entry.DispensedItems = append(entry.DispensedItems, EntryItem{ItemIDRef: l.PrescriptionItemIDRef, QuantityDispensed: l.QuantityDispensed})
		}
		p.DispenseHistory = append(p.DispenseHistory, entry)
		p.Status = StatusDispensedFull
		for _, it := range p.Items {
			if it.QuantityDispensed < it.QuantityPrescribed {
				p.Status = StatusDispensedPartial
			}
		}
		p.AwaitingPharmacy = p.Status == StatusDispensedPartial
		p.UpdatedAt = s.now().UTC()
		ev := event(ctx, "pharmacy.prescription.dispense", p.PatientID, "dispense_log", d.ID).With("prescription_id", p.ID)
		return []outbox.Message{medicationInvoice(d), ev.Message()}, nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return storeErr(err, "finish dispense "+d.ID)
}

// rollback undoes a dispense that was not recorded: it puts back into each
// stock record what the dispense took and is not yet put back (the ledger
// says), then drops the reservation. It is idempotent: run again, it finds
// nothing left to put back.
func (s *Service) rollback(ctx context.Context, who actor, prescriptionID string, pd PendingDispense) error {
	ids, _ := needs(pd.Items)
	for _, id := range ids {
		ms, err := s.store.DispenseMovements(ctx, id, pd.DispenseLogID)
		if err != nil {
			return storeErr(err, "read movements of dispense "+pd.DispenseLogID)
		}
		var out []BatchQuantity
		for _, m := range ms {
			out = append(out, m.Batches...) // taken negative, put back positive
		}
		out = netByBatch(out)
		if len(out) == 0 {
			continue
		}
		med := Medication{ID: id, Name: nameOf(pd.Items, id)}
		_, err = s.changeStock(ctx, med, who, func(st *Stock) (Movement, []outbox.Message, error) {
			return Movement{Kind: MovementDispenseReversal, Batches: putBack(st, out), Reason: "dispense not completed",
				DispenseLogID: &pd.DispenseLogID, PrescriptionID: &prescriptionID}, nil, nil
		})
		if err != nil {
			return storeErr(err, "put back stock of "+id+" for dispense "+pd.DispenseLogID)
		}
	}
	_, err := s.store.UpdatePrescription(ctx, prescriptionID, func(p *Prescription) ([]outbox.Message, error) {
		i := slices.IndexFunc(p.Pending, func(x PendingDispense) bool { return x.DispenseLogID == pd.DispenseLogID })
		if i < 0 {
			return nil, errNoChange
		}
		p.Pending = slices.Delete(p.Pending, i, i+1)
		p.Dispensing = len(p.Pending) > 0
		return nil, nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return storeErr(err, "release the reservation of dispense "+pd.DispenseLogID)
}

// netByBatch sums signed quantities per batch and keeps the batches still
// owed back (negative), in their first order.
func netByBatch(bs []BatchQuantity) []BatchQuantity {
	var out []BatchQuantity
	for _, b := range bs {
		i := slices.IndexFunc(out, func(x BatchQuantity) bool { return x.BatchNumber == b.BatchNumber })
		if i < 0 {
			out = append(out, b)
			continue
		}
		out[i].Quantity += b.Quantity
	}
	return slices.DeleteFunc(out, func(b BatchQuantity) bool { return b.Quantity >= 0 })
}

// RecoverDispenses finishes or rolls back the dispenses a crash left
// under way: each one whose lease is over, taken over under a new lease.
// A dispense with a log is finished; one without is rolled back. It
// returns how many it settled. Run it periodically on every instance.
func (s *Service) RecoverDispenses(ctx context.Context) (int, error) {
	ps, err := s.store.WithPendingDispenses(ctx, 200)
	if err != nil {
		return 0, storeErr(err, "list dispenses under way")
	}
	n := 0
	var errs []error
	for _, p := range ps {
		for _, pd := range p.Pending {
			if s.now().Sub(pd.At) < s.cfg.DispenseLease {
				continue // its worker may still hold the lease
			}
			done, err := s.recover(ctx, p.ID, pd.DispenseLogID)
			if err != nil {
				errs = append(errs, err)
			}
			if done {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}

func (s *Service) recover(ctx context.Context, prescriptionID, id string) (bool, error) {
	release, err := s.store.Lease(ctx, leaseName(id), s.cfg.DispenseLease)
	if err != nil || release == nil {
		return false, storeErr(err, "lease dispense "+id)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.DispenseTimeout)
	defer cancel()
	defer release(wctx)
	p, err := s.store.Prescription(wctx, prescriptionID)
	if err != nil {
		return false, storeErr(err, "read prescription "+prescriptionID)
	}
	i := slices.IndexFunc(p.Pending, func(x PendingDispense) bool { return x.DispenseLogID == id })
	if i < 0 {
		return false, nil // settled meanwhile
	}
	d, err := s.store.DispenseLog(wctx, id)
	switch {
	case err == nil:
		err = s.finish(wctx, d)
	case errors.Is(err, ErrNotFound):
		err = s.rollback(wctx, system, prescriptionID, p.Pending[i])
	default:
		err = storeErr(err, "read dispense log "+id)
	}
	if err != nil {
		return false, err
	}
	s.log.Info("settled a dispense a crash interrupted", "dispense_log_id", id, "recorded", d.ID != "")
	return true, nil
}
