package versioned

import (
	"context"
	"time"

	"hospital/lib/outbox"
)

// RecordOnly inserts version v of doc as a writer that died right after the
// insert leaves it: pending, the projection not updated, its messages not
// queued.
func (s *Store[T]) RecordOnly(ctx context.Context, doc *T, v int64, at time.Time, msgs ...outbox.Message) error {
	d, id, err := encode(doc)
	if err != nil {
		return err
	}
	prepared := make([]outbox.Prepared, 0, len(msgs))
	for _, m := range msgs {
		p, err := outbox.Prepare(ctx, m)
		if err != nil {
			return err
		}
		prepared = append(prepared, p)
	}
	_, err = s.versions.InsertOne(ctx, versionDoc{ID: versionID(id, v), Entity: id, V: v, Doc: d, At: at, Pending: true, Outbox: prepared})
	return err
}
