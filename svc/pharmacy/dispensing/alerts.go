package dispensing

import (
	"context"
	"errors"
	"strings"

	"hospital/lib/auth"
	"hospital/lib/outbox"
)

// NotifyStockLow tells every active pharmacist of a stock alert, one
// notification each (flow F5; a notification has one recipient). It is
// this service's own internal endpoint, reached through the outbox, so
// that a user-service outage delays the alert instead of losing it; the
// notifications' keys name the alert and the recipient, so a redelivery
// sends nothing twice.
func (s *Service) NotifyStockLow(ctx context.Context, a StockAlert) (StockAlertResult, error) {
	pharmacists, err := s.roster.ActiveWithRole(ctx, auth.RolePharmacist)
	if err != nil {
		return StockAlertResult{}, errors.Join(errUsersUnavailable, err)
	}
	msgs := make([]outbox.Message, 0, len(pharmacists))
	for _, u := range pharmacists {
		if u.IsActive && u.Role == auth.RolePharmacist {
			msgs = append(msgs, stockLow(a, u.ID))
		}
	}
	if len(msgs) == 0 {
		s.log.Warn("stock alert with no active pharmacist to tell", "medication_id", a.MedicationID)
		return StockAlertResult{}, nil
	}
	if err := s.store.Enqueue(ctx, msgs...); err != nil {
		return StockAlertResult{}, storeErr(err, "queue stock alerts")
	}
	return StockAlertResult{Recipients: len(msgs)}, nil
}

// Delivered is told of every outbox message a receiver accepted: when
// billing has taken a dispense's invoice request, the dispense log's
// payment status becomes BILLED.
func (s *Service) Delivered(ctx context.Context, key string) error {
	id, ok := strings.CutPrefix(key, invoiceKeyPrefix)
	if !ok {
		return nil
	}
	return storeErr(s.store.SetPaymentStatus(ctx, id, PaymentPendingBilling, PaymentBilled), "set payment status of "+id)
}
