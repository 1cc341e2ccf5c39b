package store

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/outbox"
	"hospital/svc/pharmacy/dispensing"
)

// InsertMedication stores m carrying msgs (its audit event).
func (s *Store) InsertMedication(ctx context.Context, m dispensing.Medication, msgs ...outbox.Message) error {
	d, err := document(m)
	if err != nil {
		return err
	}
	if err := s.queue.Insert(ctx, s.medications, d, msgs...); err != nil {
		if mongodb.IsDuplicate(err) {
			return dispensing.ErrDuplicate
		}
		return fmt.Errorf("insert medication %s: %w", m.MedicationCode, err)
	}
	return nil
}

// Medication reads one catalog entry.
func (s *Store) Medication(ctx context.Context, id string) (dispensing.Medication, error) {
	var m dispensing.Medication
	err := s.medications.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&m)
	if mongodb.IsNotFound(err) {
		return m, dispensing.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read medication %s: %w", id, err)
	}
	return m, nil
}

// Medications pages through the catalog by name.
func (s *Store) Medications(ctx context.Context, search string, p dispensing.Page) ([]dispensing.Medication, int, error) {
	filter := bson.D{}
	if search != "" {
		rx := bson.Regex{Pattern: regexp.QuoteMeta(search), Options: "i"}
		filter = bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: rx}}, bson.D{{Key: "generic_name", Value: rx}}, bson.D{{Key: "medication_code", Value: rx}},
		}}}
	}
	return page[dispensing.Medication](ctx, s.medications, filter, bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, p)
}

// page reads one page of coll matching filter in order, and the total.
func page[T any](ctx context.Context, coll *mongo.Collection, filter, sort bson.D, p dispensing.Page) ([]T, int, error) {
	n, err := coll.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count %s: %w", coll.Name(), err)
	}
	if n == 0 || int64(p.Offset) >= n {
		return []T{}, int(n), nil
	}
	cur, err := coll.Find(ctx, filter, options.Find().SetSort(sort).SetSkip(int64(p.Offset)).SetLimit(int64(p.Limit)))
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", coll.Name(), err)
	}
	out := []T{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", coll.Name(), err)
	}
	return out, int(n), nil
}
