package mongokeys

import (
	"context"
	"time"
)

// LeaveClaim inserts the claim a request that died right after claiming
// leaves behind, made at the given time.
func (s *Store) LeaveClaim(ctx context.Context, scope, key, fingerprint string, at time.Time) error {
	_, err := s.coll.InsertOne(ctx, claim{ID: scope + "|" + key, Fingerprint: fingerprint, CreatedAt: at})
	return err
}
