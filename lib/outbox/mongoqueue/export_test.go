package mongoqueue

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/outbox"
)

// Attach builds the document Insert would insert: a test inserts it itself
// to leave the state a crash right after the insert leaves.
func (q *Queue) Attach(ctx context.Context, doc any, msgs ...outbox.Message) (bson.D, error) {
	d, _, err := q.attach(ctx, doc, msgs)
	return d, err
}
