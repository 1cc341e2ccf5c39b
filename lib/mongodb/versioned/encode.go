package versioned

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// encode turns doc into its bson form without the version field, and
// returns its _id.
func encode(doc any) (bson.D, string, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, "", fmt.Errorf("versioned: encode: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, "", fmt.Errorf("versioned: encode: %w", err)
	}
	d, _ = splitVersion(d)
	for _, e := range d {
		if e.Key == "_id" {
			if id, ok := e.Value.(string); ok && id != "" {
				return d, id, nil
			}
			return nil, "", fmt.Errorf("versioned: _id must be a non-empty string, not %v", e.Value)
		}
	}
	return nil, "", fmt.Errorf("versioned: the document has no _id")
}

// splitVersion removes the version field from d and returns it.
func splitVersion(d bson.D) (bson.D, int64) {
	out := make(bson.D, 0, len(d))
	var v int64
	for _, e := range d {
		if e.Key != VersionField {
			out = append(out, e)
			continue
		}
		switch n := e.Value.(type) {
		case int64:
			v = n
		case int32:
			v = int64(n)
		case float64:
			v = int64(n)
		}
	}
	return out, v
}

func withVersion(d bson.D, v int64) bson.D {
	out := make(bson.D, 0, len(d)+1)
	out = append(out, d...)
	return append(out, bson.E{Key: VersionField, Value: v})
}

func decodeInto[T any](d bson.D, v int64, doc *T) error {
	raw, err := bson.Marshal(withVersion(d, v))
	if err != nil {
		return fmt.Errorf("versioned: decode: %w", err)
	}
	var fresh T
	if err := bson.Unmarshal(raw, &fresh); err != nil {
		return fmt.Errorf("versioned: decode: %w", err)
	}
	*doc = fresh
	return nil
}
