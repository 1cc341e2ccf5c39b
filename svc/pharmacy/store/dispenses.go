package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/mongodb"
	"hospital/svc/pharmacy/dispensing"
)

// InsertDispenseLog stores d (once: its _id is the dispense's id).
func (s *Store) InsertDispenseLog(ctx context.Context, d dispensing.DispenseLog) error {
	if _, err := s.dispenseLogs.InsertOne(ctx, d); err != nil {
		if mongodb.IsDuplicate(err) {
			return dispensing.ErrDuplicate
		}
		return fmt.Errorf("insert dispense log %s: %w", d.ID, err)
	}
	return nil
}

// DispenseLog reads one dispense log.
func (s *Store) DispenseLog(ctx context.Context, id string) (dispensing.DispenseLog, error) {
	var d dispensing.DispenseLog
	err := s.dispenseLogs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if mongodb.IsNotFound(err) {
		return d, dispensing.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read dispense log %s: %w", id, err)
	}
	return d, nil
}

// SetPaymentStatus moves a log's payment status from from to to. The
// delivery of its invoice request is its only writer after the insert, and
// two deliveries of it write the same value.
func (s *Store) SetPaymentStatus(ctx context.Context, id, from, to string) error {
	_, err := s.dispenseLogs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "payment_status", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "payment_status", Value: to}}}})
	if err != nil {
		return fmt.Errorf("set payment status of %s: %w", id, err)
	}
	return nil
}

// Lease claims name for ttl (mongodb.Leases); release marks the claim
// released, so the next contender need not wait for it to expire.
func (s *Store) Lease(ctx context.Context, name string, ttl time.Duration) (func(context.Context), error) {
	l, err := s.leases.Acquire(ctx, name, ttl)
	if err != nil || l == nil {
		return nil, err
	}
	return func(ctx context.Context) {
		if err := l.Release(ctx); err != nil {
			s.log.Warn("dispense lease not released; it runs out by itself", "lease", l.ID, "err", err.Error())
		}
	}, nil
}

var _ dispensing.Store = (*Store)(nil)
