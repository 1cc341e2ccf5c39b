// Package mongodb opens a service's MongoDB database (FerretDB locally,
// MongoDB in production) and holds the few patterns every Mongo-backed
// service needs: indexes ensured at start-up, duplicate-key detection,
// readiness, idempotent inserts and leases.
//
// The code here runs on both servers. FerretDB v1 has no multi-document
// transactions, and an update there is a read-modify-write of the whole
// document, so two concurrent conditional updates of one document can both
// "succeed". What is atomic on both is a unique index: the patterns below
// (InsertOrGet, Leases) build on unique inserts, never on conditional updates
// racing each other.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Timeouts that make an outage of the store answer fast: an operation gives
// up after about a second when the server cannot be reached (refused, or
// nothing answers a dial), so a request becomes a 503 (see Unreachable)
// instead of waiting. The heartbeat notices a server that stopped answering
// on open connections. Each can be overridden in the URI
// (serverSelectionTimeoutMS, connectTimeoutMS, heartbeatFrequencyMS).
const (
	ServerSelectionTimeout = time.Second
	ConnectTimeout         = time.Second
	HeartbeatInterval      = 2 * time.Second
)

// MaxPoolSize caps one client's connections, so one service instance has at
// most this many operations in flight. FerretDB v1 on PostgreSQL deadlocks
// for good when more updates run at once than its own pool has connections
// (an update holds one for its read and waits for another for its write):
// FerretDB's pool_max_conns must stay above the sum of its clients' pools.
const MaxPoolSize = 25

// Connect opens a client for uri and waits, up to ctx, for the server to
// answer a ping: at start-up the database may still be coming up.
func Connect(ctx context.Context, uri, appName string) (*mongo.Client, error) {
	opts := options.Client().
		SetServerSelectionTimeout(ServerSelectionTimeout).
		SetConnectTimeout(ConnectTimeout).
		SetHeartbeatInterval(HeartbeatInterval).
		SetMaxPoolSize(MaxPoolSize).
		ApplyURI(uri)
	if appName != "" {
		opts.SetAppName(appName)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		// A malformed URI: waiting will not fix it.
		return nil, fmt.Errorf("mongodb: %w", err)
	}
	backoff := 100 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := client.Ping(pctx, readpref.Primary())
		cancel()
		if err == nil {
			return client, nil
		}
		if permanentConnError(err) {
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongodb: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongodb not reachable: %w", errors.Join(err, ctx.Err()))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// permanentConnError: waiting will not fix bad credentials.
func permanentConnError(err error) bool {
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 18, 13: // AuthenticationFailed, Unauthorized
			return true
		}
	}
	return false
}

// Index is one index to ensure: Keys in order (a bson.D), and whether it is
// unique. Name is optional (the server derives one from the keys).
type Index struct {
	Keys   any
	Unique bool
	Name   string
}

// EnsureIndexes creates the indexes coll needs; existing ones are kept. Run
// it at start-up: several instances may do so at once. Indexes are created
// one by one: FerretDB v1 drops the connection when one createIndexes
// command repeats several existing indexes.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, indexes ...Index) error {
	for _, ix := range indexes {
		o := options.Index()
		if ix.Unique {
			o.SetUnique(true)
		}
		if ix.Name != "" {
			o.SetName(ix.Name)
		}
		if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.Keys, Options: o}); err != nil {
			return fmt.Errorf("mongodb: index %v of %s: %w", ix.Keys, coll.Name(), err)
		}
	}
	return nil
}

// IsDuplicate reports whether err is a unique-index violation: E11000, or
// the internal error FerretDB v1 answers when an update (not an insert)
// breaks a unique index (its backend's own message: SQLSTATE 23505 on
// PostgreSQL, "UNIQUE constraint failed" on SQLite).
func IsDuplicate(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed")
}

// IsNotFound reports whether err means a single-document read found nothing.
func IsNotFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// Ping is a readiness check for client.
func Ping(client *mongo.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error { return client.Ping(ctx, readpref.Primary()) }
}

// InsertOrGet inserts doc into coll. When a unique index refuses it (a
// document for the same key exists: a repeated request, or a concurrent
// twin), the existing document matching filter is decoded into existing and
// inserted is false. This is the receiver side of an idempotent call on a
// store without transactions: the work document itself carries the
// idempotency key under a unique index.
func InsertOrGet[T any](ctx context.Context, coll *mongo.Collection, filter any, doc any, existing *T) (inserted bool, err error) {
	_, err = coll.InsertOne(ctx, doc)
	if err == nil {
		return true, nil
	}
	if !IsDuplicate(err) {
		return false, fmt.Errorf("mongodb: insert into %s: %w", coll.Name(), err)
	}
	if err := coll.FindOne(ctx, filter).Decode(existing); err != nil {
		return false, fmt.Errorf("mongodb: read existing document of %s: %w", coll.Name(), err)
	}
	return false, nil
}
