package dispensing

import (
	"context"
	"strconv"

	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// Crash points of a dispense, for the recovery tests.
const (
	AfterReserve = iota + 1
	AfterTake
	AfterCommit
)

// DispenseIDForKey is the id a dispense with an Idempotency-Key gets.
func DispenseIDForKey(pharmacistID int64, prescriptionID, key string) string {
	return idFromKey("dispense", strconv.FormatInt(pharmacistID, 10), prescriptionID, key)
}

// Interrupt runs dispense id up to the crash point and stops there, as a
// process that died would: no lease is left behind (it has run out).
func (s *Service) Interrupt(ctx context.Context, prescriptionID, id string, in DispenseRequest, at int) error {
	c, _ := auth.FromContext(ctx)
	p, err := s.store.Prescription(ctx, prescriptionID)
	if err != nil {
		return err
	}
	lines, err := s.plan(ctx, p, id, in)
	if err != nil {
		return err
	}
	pd := PendingDispense{DispenseLogID: id, PharmacistID: c.UserID, Items: pendingLines(lines), At: s.now().UTC()}
	if _, err := s.store.UpdatePrescription(ctx, prescriptionID, func(p *Prescription) ([]outbox.Message, error) {
		p.Pending, p.Dispensing = append(p.Pending, pd), true
		return nil, nil
	}); err != nil || at == AfterReserve {
		return err
	}
	if err := s.take(ctx, c, prescriptionID, id, lines); err != nil || at == AfterTake {
		return err
	}
	return s.store.InsertDispenseLog(ctx, DispenseLog{ID: id, PrescriptionID: prescriptionID, PatientID: p.PatientID,
		PharmacistID: c.UserID, DateDispensed: s.now().UTC(), DispensedItems: lines, TotalPrice: ZeroMoney, PaymentStatus: PaymentPendingBilling})
}
