package dispensing

import (
	"context"
	"strconv"

	"hospital/lib/outbox"
)

// Verify marks a prescription VERIFIED (PHARMACIST): only from
// PENDING_VERIFICATION. The patient is told it is ready for pickup (flow F4).
func (s *Service) Verify(ctx context.Context, id string) (Prescription, error) {
	c, err := caller(ctx)
	if err != nil {
		return Prescription{}, err
	}
	if !validID(id) {
		return Prescription{}, errNotFound
	}
	p, err := s.store.UpdatePrescription(ctx, id, func(p *Prescription) ([]outbox.Message, error) {
		if p.Status != StatusPendingVerification {
			return nil, errStatus("verified", p.Status)
		}
		now := s.now().UTC()
		p.Status, p.UpdatedAt = StatusVerified, now
		p.VerifiedBy, p.VerifiedAt = &c.UserID, &now
		return []outbox.Message{
			readyForPickup(*p),
			event(ctx, "pharmacy.prescription.verify", p.PatientID, "prescription", p.ID).Message(),
		}, nil
	})
	return p, storeErr(err, "verify prescription "+id)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
