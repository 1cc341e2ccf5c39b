package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/outbox"
	"hospital/svc/lab/laboratory"
)

// CreateTest records version 1 of a catalog test.
func (s *Store) CreateTest(ctx context.Context, t *laboratory.CatalogTest, msgs ...outbox.Message) error {
	return wrap(s.tests.Create(ctx, t, msgs...))
}

// Test reads the latest version of a catalog test.
func (s *Store) Test(ctx context.Context, id string) (laboratory.CatalogTest, error) {
	t, err := s.tests.Get(ctx, id)
	return t, wrap(err)
}

// UpdateTest records the next version of a catalog test.
func (s *Store) UpdateTest(ctx context.Context, id string, fn func(t *laboratory.CatalogTest, ch *laboratory.Change) error) (laboratory.CatalogTest, error) {
	t, err := s.tests.Update(ctx, id, fn)
	return t, wrap(err)
}

// Tests lists the catalog by test_code.
func (s *Store) Tests(ctx context.Context, includeRetired bool, limit, offset int) ([]laboratory.CatalogTest, int, error) {
	filter := bson.D{}
	if !includeRetired {
		filter = bson.D{{Key: "is_active", Value: true}}
	}
	return page[laboratory.CatalogTest](ctx, s.tests.Collection(), filter, bson.D{{Key: "test_code", Value: 1}}, limit, offset)
}

// CountActiveTests counts the tests that can be ordered.
func (s *Store) CountActiveTests(ctx context.Context) (int, error) {
	n, err := s.tests.Collection().CountDocuments(ctx, bson.D{{Key: "is_active", Value: true}})
	if err != nil {
		return 0, wrap(fmt.Errorf("count lab tests: %w", err))
	}
	return int(n), nil
}

func findOpts(sort bson.D, limit, offset int) *options.FindOptionsBuilder {
	return options.Find().SetSort(sort).SetSkip(int64(offset)).SetLimit(int64(limit))
}
