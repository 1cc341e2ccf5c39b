package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
	"hospital/lib/mongodb/versioned"
	"hospital/lib/outbox"
	"hospital/svc/pharmacy/dispensing"
)

// CreatePrescription records p as version 1 with msgs.
func (s *Store) CreatePrescription(ctx context.Context, p *dispensing.Prescription, msgs ...outbox.Message) error {
	return versionedErr(s.prescriptions.Create(ctx, p, msgs...), "create prescription "+p.ID)
}

// Prescription reads the latest version of a prescription.
func (s *Store) Prescription(ctx context.Context, id string) (dispensing.Prescription, error) {
	p, err := s.prescriptions.Get(ctx, id)
	return p, versionedErr(err, "read prescription "+id)
}

// PrescriptionSnapshot reads the projection only (see the port).
func (s *Store) PrescriptionSnapshot(ctx context.Context, id string) (dispensing.Prescription, error) {
	return snapshot[dispensing.Prescription](ctx, s.prescriptions.Collection(), id, func(ctx context.Context) (dispensing.Prescription, error) {
		return s.Prescription(ctx, id)
	})
}

// snapshot reads id from a versioned store's projection; a document not
// projected yet is read from its versions.
func snapshot[T any](ctx context.Context, coll *mongo.Collection, id string, latest func(context.Context) (T, error)) (T, error) {
	var doc T
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if mongodb.IsNotFound(err) {
		return latest(ctx)
	}
	if err != nil {
		return doc, fmt.Errorf("read %s %s: %w", coll.Name(), id, err)
	}
	return doc, nil
}

// UpdatePrescription records fn's change as the next version.
func (s *Store) UpdatePrescription(ctx context.Context, id string, fn dispensing.Change[dispensing.Prescription]) (dispensing.Prescription, error) {
	unlock, err := s.local.lock(ctx, "prescription:"+id)
	if err != nil {
		return dispensing.Prescription{}, fmt.Errorf("wait to change prescription %s: %w", id, err)
	}
	defer unlock()
	p, err := s.prescriptions.Update(ctx, id, func(doc *dispensing.Prescription, ch *versioned.Change) error {
		msgs, err := fn(doc)
		if err != nil {
			return err
		}
		ch.Send(msgs...)
		return nil
	})
	return p, versionedErr(err, "update prescription "+id)
}

// PatientPrescriptions pages through a patient's prescriptions, newest first.
func (s *Store) PatientPrescriptions(ctx context.Context, patientID int64, f dispensing.PrescriptionFilter, p dispensing.Page) ([]dispensing.Prescription, int, error) {
	filter := bson.D{{Key: "patient_id", Value: patientID}}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	return page[dispensing.Prescription](ctx, s.prescriptions.Collection(), filter,
		bson.D{{Key: "date_prescribed", Value: -1}, {Key: "_id", Value: -1}}, p)
}

// AwaitingPharmacy pages through the prescriptions waiting to be verified
// or dispensed, oldest first.
func (s *Store) AwaitingPharmacy(ctx context.Context, f dispensing.PrescriptionFilter, p dispensing.Page) ([]dispensing.Prescription, int, error) {
	filter := bson.D{{Key: "awaiting_pharmacy", Value: true}}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	return page[dispensing.Prescription](ctx, s.prescriptions.Collection(), filter,
		bson.D{{Key: "date_prescribed", Value: 1}, {Key: "_id", Value: 1}}, p)
}

// WithPendingDispenses lists prescriptions with a dispense under way.
func (s *Store) WithPendingDispenses(ctx context.Context, limit int) ([]dispensing.Prescription, error) {
	cur, err := s.prescriptions.Collection().Find(ctx, bson.D{{Key: "dispensing", Value: true}}, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list dispensing prescriptions: %w", err)
	}
	var out []dispensing.Prescription
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list dispensing prescriptions: %w", err)
	}
	return out, nil
}

// CountByStatus counts the prescriptions with status.
func (s *Store) CountByStatus(ctx context.Context, status string) (int, error) {
	n, err := s.prescriptions.Collection().CountDocuments(ctx, bson.D{{Key: "status", Value: status}})
	if err != nil {
		return 0, fmt.Errorf("count %s prescriptions: %w", status, err)
	}
	return int(n), nil
}

// versionedErr maps the versioned store's errors to the domain's.
func versionedErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, versioned.ErrNotFound):
		return dispensing.ErrNotFound
	case errors.Is(err, versioned.ErrExists):
		return dispensing.ErrDuplicate
	case errors.Is(err, versioned.ErrConflict):
		return dispensing.ErrContended
	}
	return fmt.Errorf("%s: %w", what, err)
}
