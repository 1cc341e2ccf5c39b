package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/outbox"
	"hospital/svc/lab/laboratory"
)

// CreateOrder records version 1 of an order with its messages.
func (s *Store) CreateOrder(ctx context.Context, o *laboratory.Order, msgs ...outbox.Message) error {
	return wrap(s.orders.Create(ctx, o, msgs...))
}

// Order reads the latest version of an order.
func (s *Store) Order(ctx context.Context, id string) (laboratory.Order, error) {
	o, err := s.orders.Get(ctx, id)
	return o, wrap(err)
}

// UpdateOrder records the next version of an order; a change that loses a
// race runs again on the newer version.
func (s *Store) UpdateOrder(ctx context.Context, id string, fn func(o *laboratory.Order, ch *laboratory.Change) error) (laboratory.Order, error) {
	o, err := s.orders.Update(ctx, id, fn)
	return o, wrap(err)
}

// PatientOrders filters by equality only (patient and status), which
// FerretDB has PostgreSQL apply, so only the patient's orders are decoded
// and sorted (few). MongoDB serves it from ix_patient_status.
func (s *Store) PatientOrders(ctx context.Context, patientID int64, status string, limit, offset int) ([]laboratory.Order, int, error) {
	filter := bson.D{{Key: "patient_id", Value: patientID}, {Key: "status", Value: status}}
	sort := bson.D{{Key: "released_at", Value: -1}, {Key: "order_date", Value: -1}, {Key: "_id", Value: 1}}
	return page[laboratory.Order](ctx, s.orders.Collection(), filter, sort, limit, offset)
}

// Pending reads the queue by its equality mark (in_queue) rather than a
// $in on status, which FerretDB would apply in memory to every order it
// decoded; an equality it has PostgreSQL apply.
func (s *Store) Pending(ctx context.Context, limit, offset int) ([]laboratory.Order, int, error) {
	filter := bson.D{{Key: "in_queue", Value: true}}
	sort := bson.D{{Key: "priority_rank", Value: -1}, {Key: "order_date", Value: 1}, {Key: "_id", Value: 1}}
	return page[laboratory.Order](ctx, s.orders.Collection(), filter, sort, limit, offset)
}

// CountOrders counts the orders in status.
func (s *Store) CountOrders(ctx context.Context, status string) (int, error) {
	n, err := s.orders.Collection().CountDocuments(ctx, bson.D{{Key: "status", Value: status}})
	if err != nil {
		return 0, wrap(fmt.Errorf("count %s lab orders: %w", status, err))
	}
	return int(n), nil
}
