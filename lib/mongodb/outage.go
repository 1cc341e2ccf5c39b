package mongodb

import (
	"context"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Unreachable reports whether err means the store could not be reached: no
// server could be selected in time (it is down, or refuses connections), a
// connection broke under an operation, or FerretDB answered that its own
// backend is down. A handler answers it with 503 and Retry-After: the
// request may succeed once the store is back. A cancelled request, a
// duplicate key or a missing document is not an outage.
func Unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		return true
	}
	if mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected) {
		return true
	}
	// The driver cleared its pool after another operation lost its
	// connection: the store went away under requests in flight.
	var cleared driver.RetryablePoolError
	if errors.As(err, &cleared) && cleared.Retryable() {
		return true
	}
	return backendDown(err)
}

// backendDown recognises FerretDB's InternalError when PostgreSQL (or
// SQLite's files) cannot be reached: connection failures (SQLSTATE class
// 08), an administrator or crash shutdown (57P01-57P03), or pgx failing to
// connect.
func backendDown(err error) bool {
	var ce mongo.CommandError
	if !errors.As(err, &ce) || ce.Code != 1 { // 1: InternalError
		return false
	}
	msg := ce.Message
	return strings.Contains(msg, "failed to connect to") ||
		strings.Contains(msg, "SQLSTATE 08") ||
		strings.Contains(msg, "SQLSTATE 57P0")
}
