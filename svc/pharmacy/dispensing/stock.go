package dispensing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/dates"
	"hospital/lib/outbox"
)

// errNoChange: a stock change found nothing to do; nothing is recorded.
var errNoChange = errors.New("nothing to change")

// actor is who makes a movement.
type actor struct {
	id   int64
	role string
}

func actorOf(c auth.Identity) actor {
	if c.IsService() {
		return actor{role: RoleSystem}
	}
	return actor{id: c.UserID, role: c.Role}
}

var system = actor{role: RoleSystem}

// changeStock records one movement of a medication's stock: fn changes the
// record and describes the movement; the movement gets its place in the
// ledger, and crossing below the reorder level (from not below) sends the
// stock alert. The record is created on its first movement.
func (s *Service) changeStock(ctx context.Context, med Medication, who actor, fn func(st *Stock) (Movement, []outbox.Message, error)) (Stock, error) {
	return s.store.UpdateStock(ctx, med.ID, func(st *Stock) ([]outbox.Message, error) {
		if st.Version == 0 {
			*st = Stock{ID: med.ID, MedicationID: med.ID, MedicationName: med.Name, ExpiryDates: []Batch{}}
		}
		wasLow := st.Version > 0 && below(*st)
		m, msgs, err := fn(st)
		if err != nil {
			return nil, err
		}
		recount(st)
		now := s.now().UTC()
		seq := st.Version + 1
		m.ID, m.MedicationID, m.Sequence = fmt.Sprintf("%s#%d", med.ID, seq), med.ID, seq
		m.QuantityOnHand, m.ReorderLevel, m.At = st.QuantityOnHand, st.ReorderLevel, now
		m.ActorID, m.ActorRole = who.id, who.role
		m.Batches = nonNil(m.Batches)
		m.Quantity = sum(m.Batches)
		st.LastMovement, st.UpdatedAt = m, now
		if !wasLow && below(*st) {
			msgs = append(msgs, stockAlert(StockAlert{MedicationID: med.ID, MedicationName: st.MedicationName,
				Sequence: seq, QuantityOnHand: st.QuantityOnHand, ReorderLevel: st.ReorderLevel}))
		}
		return msgs, nil
	})
}

// UpdateStock receives a batch, adjusts batches, writes off expired ones
// and/or sets the reorder level of a medication (PHARMACIST, ADMIN). One
// request is one movement in the ledger.
func (s *Service) UpdateStock(ctx context.Context, medicationID string, in StockUpdate) (StockView, error) {
	c, err := caller(ctx)
	if err != nil {
		return StockView{}, err
	}
	if !validID(medicationID) {
		return StockView{}, errNotFound
	}
	today := s.today()
	change, err := parseStockUpdate(in, today)
	if err != nil {
		return StockView{}, err
	}
	med, err := s.medication(ctx, medicationID)
	if err != nil {
		return StockView{}, err
	}
	st, err := s.changeStock(ctx, med, actorOf(c), func(st *Stock) (Movement, []outbox.Message, error) {
		m, err := change.apply(st, today, s.now().UTC())
		if err != nil {
			return Movement{}, nil, err
		}
		ev := event(ctx, "pharmacy.stock.update", 0, "medication", med.ID).With("movement", m.Kind)
		return m, []outbox.Message{ev.Message()}, nil
	})
	if errors.Is(err, errNoChange) {
		st, err = s.store.Stock(ctx, medicationID)
		if errors.Is(err, ErrNotFound) {
			st, err = Stock{MedicationID: med.ID, MedicationName: med.Name, ExpiryDates: []Batch{}}, nil
		}
	}
	if err != nil {
		return StockView{}, storeErr(err, "update stock of "+medicationID)
	}
	return s.view(st, today, s.expiryDays()), nil
}

// stockChange is a parsed StockUpdate.
type stockChange struct {
	in       StockUpdate
	receipt  bool
	expiry   time.Time
	reorder  *int64
	adjust   []Adjustment
	writeOff bool
}

func parseStockUpdate(in StockUpdate, today time.Time) (stockChange, error) {
	c := stockChange{in: in, reorder: in.ReorderLevel, adjust: in.Adjustments, writeOff: in.WriteOffExpired}
	in.BatchNumber = strings.TrimSpace(in.BatchNumber)
	c.in.BatchNumber = in.BatchNumber
	c.receipt = in.BatchNumber != "" || in.Quantity != 0 || in.ExpiryDate != ""
	kinds := 0
	for _, on := range []bool{c.receipt, len(in.Adjustments) > 0, in.WriteOffExpired} {
		if on {
			kinds++
		}
	}
	switch {
	case kinds > 1:
		return c, apperr.Invalid("One movement per request: a receipt (batch_number, quantity, expiry_date), adjustments, or write_off_expired.")
	case kinds == 0 && in.ReorderLevel == nil:
		return c, apperr.Invalid("Nothing to change: send a receipt (batch_number, quantity, expiry_date), adjustments, write_off_expired or reorder_level.")
	}
	if c.receipt {
		fields := map[string][]string{}
		if in.BatchNumber == "" {
			fields["batch_number"] = []string{"Required with a receipt."}
		}
		if in.Quantity <= 0 {
			fields["quantity"] = []string{"Ensure this value is greater than 0."}
		}
		d, err := dates.Parse(in.ExpiryDate, time.UTC)
		switch {
		case in.ExpiryDate == "":
			fields["expiry_date"] = []string{"Required with a receipt."}
		case err != nil:
			fields["expiry_date"] = []string{err.Error()}
		case !d.After(today):
			fields["expiry_date"] = []string{"A received batch must expire after today."}
		}
		if len(fields) > 0 {
			return c, apperr.Validation(fields)
		}
		c.expiry = d
	}
	for i, a := range in.Adjustments {
		if a.QuantityChange == 0 {
			return c, apperr.Field(fmt.Sprintf("adjustments[%d].quantity_change", i), "Ensure this value is not 0.")
		}
		if strings.TrimSpace(a.Reason) == "" {
			return c, apperr.Field(fmt.Sprintf("adjustments[%d].reason", i), "This field may not be blank.")
		}
	}
	return c, nil
}

// apply makes the change on st and describes the movement.
func (c stockChange) apply(st *Stock, today, now time.Time) (Movement, error) {
	m := Movement{Reason: strings.TrimSpace(c.in.Reason)}
	switch {
	case c.receipt:
		i := slices.IndexFunc(st.ExpiryDates, func(b Batch) bool { return b.BatchNumber == c.in.BatchNumber })
		if i >= 0 && !st.ExpiryDates[i].ExpiryDate.Equal(c.expiry) {
			return m, apperr.Conflict(fmt.Sprintf("Batch %s is on hand with expiry date %s, not %s.", c.in.BatchNumber,
				st.ExpiryDates[i].ExpiryDate.Format(time.DateOnly), c.expiry.Format(time.DateOnly))).WithCode("batch_expiry_mismatch")
		}
		if i < 0 {
			st.ExpiryDates = append(st.ExpiryDates, Batch{BatchNumber: c.in.BatchNumber, ExpiryDate: c.expiry})
			i = len(st.ExpiryDates) - 1
		}
		st.ExpiryDates[i].Quantity += c.in.Quantity
		st.LastStockedDate = &now
		m.Kind = MovementReceipt
		m.Batches = []BatchQuantity{{BatchNumber: c.in.BatchNumber, Quantity: c.in.Quantity, ExpiryDate: c.expiry}}
	case len(c.adjust) > 0:
		var reasons []string
		for k, a := range c.adjust {
			i := slices.IndexFunc(st.ExpiryDates, func(b Batch) bool { return b.BatchNumber == strings.TrimSpace(a.BatchNumber) })
			if i < 0 {
				return m, apperr.Field(fmt.Sprintf("adjustments[%d].batch_number", k), "No batch with this number is on hand (receive it instead).")
			}
			b := &st.ExpiryDates[i]
			if b.Quantity+a.QuantityChange < 0 {
				return m, apperr.Field(fmt.Sprintf("adjustments[%d].quantity_change", k), fmt.Sprintf("Batch %s holds %d; it cannot go below 0.", b.BatchNumber, b.Quantity))
			}
			b.Quantity += a.QuantityChange
			m.Batches = append(m.Batches, BatchQuantity{BatchNumber: b.BatchNumber, Quantity: a.QuantityChange, ExpiryDate: b.ExpiryDate})
			reasons = append(reasons, b.BatchNumber+": "+strings.TrimSpace(a.Reason))
		}
		if m.Reason != "" {
			reasons = append(reasons, m.Reason)
		}
		m.Kind, m.Reason = MovementAdjustment, strings.Join(reasons, "; ")
	case c.writeOff:
		m.Kind, m.Batches = MovementExpiryWriteOff, writeOffExpired(st, today)
		if len(m.Batches) == 0 && (c.reorder == nil || *c.reorder == st.ReorderLevel) {
			return m, errNoChange
		}
	}
	if c.reorder != nil {
		if m.Kind == "" && *c.reorder == st.ReorderLevel {
			return m, errNoChange
		}
		st.ReorderLevel = *c.reorder
		if m.Kind == "" {
			m.Kind = MovementReorderLevel
		}
	}
	return m, nil
}

// WriteOffExpired writes off the expired batches of every medication (the
// scheduled job; safe on several instances at once: a second pass finds
// nothing left to write off). It returns the number of medications changed.
func (s *Service) WriteOffExpired(ctx context.Context) (int, error) {
	today := s.today()
	all, err := s.store.AllStock(ctx)
	if err != nil {
		return 0, storeErr(err, "list stock")
	}
	n := 0
	var errs []error
	for _, st := range all {
		if available(st, today) == st.QuantityOnHand {
			continue
		}
		med := Medication{ID: st.MedicationID, Name: st.MedicationName}
		_, err := s.changeStock(ctx, med, system, func(st *Stock) (Movement, []outbox.Message, error) {
			gone := writeOffExpired(st, today)
			if len(gone) == 0 {
				return Movement{}, nil, errNoChange
			}
			return Movement{Kind: MovementExpiryWriteOff, Batches: gone, Reason: "expired"}, nil, nil
		})
		switch {
		case err == nil:
			n++
		case !errors.Is(err, errNoChange):
			errs = append(errs, fmt.Errorf("write off expired stock of %s: %w", st.MedicationID, err))
		}
	}
	return n, errors.Join(errs...)
}
