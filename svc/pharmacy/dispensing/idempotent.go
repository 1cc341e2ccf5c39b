package dispensing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// Result is an answer and the status it was first given with (a replay of
// an Idempotency-Key gets the first answer again).
type Result[T any] struct {
	Status int
	Value  T
}

// once runs work for a request with key (none: it just runs), so that a
// repeated key answers the first answer. work must itself be idempotent by
// key (its documents are named by idFromKey), because a request that died
// after claiming the key is run again.
func once[T any](ctx context.Context, s *Service, scope, key, fingerprint string, work func(ctx context.Context) (T, error)) (Result[T], error) {
	if key == "" {
		v, err := work(ctx)
		return Result[T]{Status: http.StatusCreated, Value: v}, err
	}
	status, body, err := s.store.Idempotent(ctx, scope, key, fingerprint, func(ctx context.Context) (int, []byte, error) {
		v, err := work(ctx)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return 0, nil, fmt.Errorf("encode the answer of %s: %w", scope, err)
		}
		return http.StatusCreated, b, nil
	})
	if err != nil {
		return Result[T]{}, err
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return Result[T]{}, fmt.Errorf("decode the stored answer of %s: %w", scope, err)
	}
	return Result[T]{Status: status, Value: v}, nil
}

// fingerprint identifies a request's content for its idempotency key.
func fingerprint(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
