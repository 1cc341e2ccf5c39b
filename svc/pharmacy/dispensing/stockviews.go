package dispensing

import (
	"context"
	"slices"
	"strings"
	"time"
)

// view is what the API shows of st on day today, with the batches expiring
// within window days.
func (s *Service) view(st Stock, today time.Time, window int) StockView {
	v := StockView{Stock: st, QuantityAvailable: available(st, today), ExpiringWithinDays: window,
		IsLowStock: below(st), ExpiringBatches: []Batch{}}
	if v.ExpiryDates == nil {
		v.ExpiryDates = []Batch{}
	}
	v.QuantityExpired = st.QuantityOnHand - v.QuantityAvailable
	horizon := today.AddDate(0, 0, window)
	for _, b := range st.ExpiryDates {
		if usable(b, today) && !b.ExpiryDate.After(horizon) {
			v.ExpiringBatches = append(v.ExpiringBatches, b)
		}
	}
	return v
}

// StockList lists the stock records by medication name (PHARMACIST,
// ADMIN): quantities, batches, the low-stock flag and the batches expiring
// within the window. A pharmacy stocks hundreds to a few thousand
// medications: they are read whole and filtered here.
func (s *Service) StockList(ctx context.Context, f StockFilter, p Page) ([]StockView, int, error) {
	all, err := s.store.AllStock(ctx)
	if err != nil {
		return nil, 0, storeErr(err, "list stock")
	}
	window := s.expiryDays()
	if f.ExpiringWithinDays > 0 {
		window = f.ExpiringWithinDays
	}
	today := s.today()
	search := normalize(f.Search)
	views := make([]StockView, 0, len(all))
	for _, st := range all {
		v := s.view(st, today, window)
		if f.LowStock != nil && v.IsLowStock != *f.LowStock {
			continue
		}
		if search != "" && !strings.Contains(normalize(st.MedicationName), search) {
			continue
		}
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b StockView) int {
		if c := strings.Compare(strings.ToLower(a.MedicationName), strings.ToLower(b.MedicationName)); c != 0 {
			return c
		}
		return strings.Compare(a.MedicationID, b.MedicationID)
	})
	n := len(views)
	lo := min(p.Offset, n)
	hi := min(lo+p.Limit, n)
	return views[lo:hi], n, nil
}

// Movements is a medication's stock card, newest first (PHARMACIST, ADMIN).
func (s *Service) Movements(ctx context.Context, medicationID string, f MovementFilter, p Page) ([]Movement, int, error) {
	if !validID(medicationID) {
		return nil, 0, errNotFound
	}
	if _, err := s.medication(ctx, medicationID); err != nil {
		return nil, 0, err
	}
	out, n, err := s.store.Movements(ctx, medicationID, f, p)
	return out, n, storeErr(err, "list movements of "+medicationID)
}

// Dashboard is the pharmacy's figures for the admin service: prescriptions
// waiting for verification, medications below their reorder level, and
// batches that expire within the window of "expiring soon".
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	pending, err := s.store.CountByStatus(ctx, StatusPendingVerification)
	if err != nil {
		return Dashboard{}, storeErr(err, "count pending prescriptions")
	}
	all, err := s.store.AllStock(ctx)
	if err != nil {
		return Dashboard{}, storeErr(err, "list stock")
	}
	// One reading of the window for the whole answer: the figure and the
	// window it names agree even while the setting changes.
	window := s.expiryDays()
	d := Dashboard{PrescriptionsPendingVerification: pending, ExpiryWindowDays: window}
	today := s.today()
	for _, st := range all {
		v := s.view(st, today, window)
		if v.IsLowStock {
			d.MedicationsBelowReorderLevel++
		}
		d.BatchesExpiringSoon += len(v.ExpiringBatches)
	}
	return d, nil
}
