// Package laboratory holds the lab's rules: the test catalog with its
// reference ranges, orders and their items' status machines, results with
// flags computed from the catalog and the patient's sex and age, release
// by a doctor, and what other services are told (billing, EHR,
// notifications, the audit log). It speaks no HTTP and no BSON: the store
// and the user service come in through the interfaces in ports.go.
package laboratory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// Options are the service's settings and collaborators besides the store.
type Options struct {
	// Location is the clinic's time zone (ages are counted on its calendar).
	Location *time.Location
	// MaxItems bounds the tests of one order (30).
	MaxItems int
	// UserTTL is how long a user looked up is reused (0: always asked).
	UserTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the lab domain.
type Service struct {
	store Store
	users Directory
	opts  Options
}

// New returns the domain over store, looking users up in users.
func New(store Store, users Directory, opts Options) *Service {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.MaxItems == 0 {
		opts.MaxItems = 30
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{store: store, users: userapi.Cached(users, 4096, opts.UserTTL), opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// clinicDay is t's date on the clinic's calendar.
func (s *Service) clinicDay(t time.Time) time.Time {
	l := t.In(s.opts.Location)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// caller is the signed-in identity (the route table already admitted it).
func caller(ctx context.Context) (auth.Identity, error) { return auth.Caller(ctx) }

// newObjectID makes an id shaped like a MongoDB ObjectId (24 hex digits:
// seconds, then random bytes), as the spec's _id values are.
func newObjectID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// derivedID is an ObjectId-shaped id fixed by parts: the same parts always
// name the same document, so creating it twice is a duplicate insert.
func derivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// IsObjectID reports whether id has the shape of the service's ids.
func IsObjectID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// loadErr maps a store error on what/id: not found is 404, contention 409.
func loadErr(err error, what, id string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return errNotFound
	case errors.Is(err, ErrConflict):
		return errBusy
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}
