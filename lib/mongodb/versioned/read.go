package versioned

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/mongodb"
)

// latest reads id's projection, then any newer versions, repairing the
// projection if it was behind.
func (s *Store[T]) latest(ctx context.Context, id string) (bson.D, int64, error) {
	var proj bson.D
	var v int64
	err := s.docs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&proj)
	switch {
	case mongodb.IsNotFound(err):
		proj = nil
	case err != nil:
		return nil, 0, fmt.Errorf("versioned: read %s: %w", id, err)
	default:
		proj, v = splitVersion(proj)
	}
	d, nv, err := s.advance(ctx, id, proj, v)
	if err != nil {
		return nil, 0, err
	}
	if nv == 0 {
		return nil, 0, ErrNotFound
	}
	if nv != v {
		if d, nv, err = s.settle(ctx, id, d, nv); err != nil {
			s.log.Warn("versioned: projection left behind", "id", id, "err", err.Error())
		}
	}
	return d, nv, nil
}

// advance follows versions after v, reading only.
func (s *Store[T]) advance(ctx context.Context, id string, d bson.D, v int64) (bson.D, int64, error) {
	for {
		var vd versionDoc
		err := s.versions.FindOne(ctx, bson.D{{Key: "_id", Value: versionID(id, v+1)}}).Decode(&vd)
		if mongodb.IsNotFound(err) {
			return d, v, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("versioned: read %s: %w", versionID(id, v+1), err)
		}
		d, v = vd.Doc, vd.V
	}
}

// settle writes the projection at v, then follows any newer version and
// writes that: whichever writer writes last, its check for a newer version
// comes after every version it could have missed was recorded, so the
// projection never stays behind.
func (s *Store[T]) settle(ctx context.Context, id string, d bson.D, v int64) (bson.D, int64, error) {
	for {
		_, err := s.docs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, withVersion(d, v), options.Replace().SetUpsert(true))
		if err != nil {
			return d, v, fmt.Errorf("versioned: project %s at %d: %w", id, v, err)
		}
		nd, nv, err := s.advance(ctx, id, d, v)
		if err != nil {
			return d, v, err
		}
		if nv == v {
			return d, v, nil
		}
		d, v = nd, nv
	}
}

// Version is one recorded version of a document.
type Version[T any] struct {
	Number int64
	At     time.Time
	Doc    T
}

// History returns every version of id, oldest first.
func (s *Store[T]) History(ctx context.Context, id string) ([]Version[T], error) {
	cur, err := s.versions.Find(ctx, bson.D{{Key: "entity", Value: id}})
	if err != nil {
		return nil, fmt.Errorf("versioned: history of %s: %w", id, err)
	}
	var vds []versionDoc
	if err := cur.All(ctx, &vds); err != nil {
		return nil, fmt.Errorf("versioned: history of %s: %w", id, err)
	}
	out := make([]Version[T], len(vds))
	for _, vd := range vds {
		if vd.V < 1 || vd.V > int64(len(vds)) {
			return nil, fmt.Errorf("versioned: history of %s: version %d out of sequence", id, vd.V)
		}
		x := &out[vd.V-1]
		x.Number, x.At = vd.V, vd.At
		if err := decodeInto(vd.Doc, vd.V, &x.Doc); err != nil {
			return nil, err
		}
	}
	return out, nil
}
