package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/mongodb"
	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/svc/pharmacy/dispensing"
)

// Stock reads the latest version of a medication's stock record.
func (s *Store) Stock(ctx context.Context, medicationID string) (dispensing.Stock, error) {
	st, err := s.stock.Get(ctx, medicationID)
	return st, versionedErr(err, "read stock of "+medicationID)
}

// StockSnapshot reads the projection only (see the port).
func (s *Store) StockSnapshot(ctx context.Context, medicationID string) (dispensing.Stock, error) {
	return snapshot[dispensing.Stock](ctx, s.stock.Collection(), medicationID, func(ctx context.Context) (dispensing.Stock, error) {
		return s.Stock(ctx, medicationID)
	})
}

// AllStock reads every stock record (the latest versions as projected).
func (s *Store) AllStock(ctx context.Context) ([]dispensing.Stock, error) {
	cur, err := s.stock.Collection().Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list stock: %w", err)
	}
	var out []dispensing.Stock
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list stock: %w", err)
	}
	return out, nil
}

// UpdateStock records fn's change as the next version of the medication's
// stock record (version 1 when it has none), then copies its movement into
// the ledger.
func (s *Store) UpdateStock(ctx context.Context, medicationID string, fn dispensing.Change[dispensing.Stock]) (dispensing.Stock, error) {
	unlock, err := s.local.lock(ctx, "stock:"+medicationID)
	if err != nil {
		return dispensing.Stock{}, fmt.Errorf("wait to change stock of %s: %w", medicationID, err)
	}
	defer unlock()
	for {
		st, err := s.stock.Update(ctx, medicationID, func(doc *dispensing.Stock, ch *versioned.Change) error {
			msgs, err := fn(doc)
			if err != nil {
				return err
			}
			ch.Send(msgs...)
			return nil
		})
		if errors.Is(err, versioned.ErrNotFound) {
			// The medication's first movement. Of concurrent first
			// movements one creates the record; the others change it.
			var doc dispensing.Stock
			msgs, ferr := fn(&doc)
			if ferr != nil {
				return dispensing.Stock{}, ferr
			}
			doc.ID = medicationID
			err = s.stock.Create(ctx, &doc, msgs...)
			if errors.Is(err, versioned.ErrExists) {
				continue
			}
			st = doc
		}
		if err != nil {
			return dispensing.Stock{}, versionedErr(err, "update stock of "+medicationID)
		}
		s.copyMovement(ctx, st.LastMovement)
		return st, nil
	}
}

// copyMovement writes a movement into the ledger; a failure is repaired
// when the ledger is next read (syncMovements).
func (s *Store) copyMovement(ctx context.Context, m dispensing.Movement) {
	if _, err := s.movements.InsertOne(ctx, m); err != nil && !mongodb.IsDuplicate(err) {
		s.log.Warn("stock movement recorded, its ledger copy left for the next read", "movement", m.ID, "err", err.Error())
	}
}

// syncMovements makes the ledger of a medication hold the movement of
// every version of its stock record: a copy a crash or an outage missed is
// made from the versions.
func (s *Store) syncMovements(ctx context.Context, medicationID string) error {
	st, err := s.stock.Get(ctx, medicationID)
	if errors.Is(err, versioned.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read stock of %s: %w", medicationID, err)
	}
	n, err := s.movements.CountDocuments(ctx, bson.D{{Key: "medication_id", Value: medicationID}})
	if err != nil {
		return fmt.Errorf("count movements of %s: %w", medicationID, err)
	}
	if n >= st.Version {
		return nil
	}
	history, err := s.stock.History(ctx, medicationID)
	if err != nil {
		return fmt.Errorf("history of stock %s: %w", medicationID, err)
	}
	for _, v := range history {
		if v.Doc.LastMovement.ID == "" {
			continue
		}
		if _, err := s.movements.InsertOne(ctx, v.Doc.LastMovement); err != nil && !mongodb.IsDuplicate(err) {
			return fmt.Errorf("copy movement %s: %w", v.Doc.LastMovement.ID, err)
		}
	}
	return nil
}

// Movements pages through a medication's ledger, newest first.
func (s *Store) Movements(ctx context.Context, medicationID string, f dispensing.MovementFilter, p dispensing.Page) ([]dispensing.Movement, int, error) {
	if err := s.syncMovements(ctx, medicationID); err != nil {
		return nil, 0, err
	}
	filter := bson.D{{Key: "medication_id", Value: medicationID}}
	if f.Kind != "" {
		filter = append(filter, bson.E{Key: "kind", Value: f.Kind})
	}
	return page[dispensing.Movement](ctx, s.movements, filter, bson.D{{Key: "sequence", Value: -1}}, p)
}

// DispenseMovements lists what a dispense did to a medication's stock.
func (s *Store) DispenseMovements(ctx context.Context, medicationID, dispenseLogID string) ([]dispensing.Movement, error) {
	if err := s.syncMovements(ctx, medicationID); err != nil {
		return nil, err
	}
	cur, err := s.movements.Find(ctx, bson.D{{Key: "medication_id", Value: medicationID}, {Key: "dispense_log_id", Value: dispenseLogID}})
	if err != nil {
		return nil, fmt.Errorf("movements of dispense %s: %w", dispenseLogID, err)
	}
	var out []dispensing.Movement
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("movements of dispense %s: %w", dispenseLogID, err)
	}
	return out, nil
}

var _ outbox.Queue = (*deliveries)(nil)
