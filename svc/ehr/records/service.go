// Package records holds the EHR rules: patients' medical records, the
// encounters doctors write in them, diagnoses, treatment plans, vital
// signs, the references pharmacy and lab add, who may read and change
// which record (care relationships, breaking the glass) and the audit of
// every read and change. It speaks no HTTP and no BSON: the store and the
// other services come in through the interfaces in ports.go.
package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"hospital/lib/auth"
	"hospital/lib/cache"
	"hospital/lib/outbox"
	"hospital/lib/userapi"
)

// Options are the service's settings and collaborators besides the store.
type Options struct {
	// Location is the clinic's time zone (clinic days, weeks).
	Location *time.Location
	// CareTTL and UserTTL bound how long answers of the appointment and
	// user services are reused.
	CareTTL, UserTTL time.Duration
	// MinReason is the shortest break-the-glass reason accepted.
	MinReason int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Kick asks the outbox to deliver at once (after a change that
	// recorded messages).
	Kick   func()
	Logger *slog.Logger
}

// Service is the EHR domain.
type Service struct {
	store Store
	keys  Keys
	users Directory
	appts Appointments
	care  *cache.TTL[careKey, bool]
	opts  Options
}

// New returns the domain over store, with keys for idempotent requests,
// users and appointments looked up in their services.
func New(store Store, keys Keys, users Directory, appts Appointments, opts Options) *Service {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Kick == nil {
		opts.Kick = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinReason == 0 {
		opts.MinReason = 10
	}
	return &Service{
		store: store, keys: keys, appts: appts,
		users: userapi.Cached(users, 4096, opts.UserTTL),
		care:  cache.New[careKey, bool](16384, opts.CareTTL),
		opts:  opts,
	}
}

// now is the clock in UTC, to the millisecond the stores keep: what is
// answered when an entry is created is what is read back later.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// record stores messages of a read (no change to carry them) and kicks the
// outbox.
func (s *Service) record(ctx context.Context, msgs ...outbox.Message) error {
	if err := s.store.Enqueue(ctx, msgs...); err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	s.opts.Kick()
	return nil
}

// idNamespace derives the ids of entries created under an idempotency key
// or for an appointment (UUID v5), so that running the work again finds
// what the first run inserted.
var idNamespace = uuid.MustParse("8f0c6a52-3b0e-4d7e-9a43-5d1f2f0e7c11")

// newID is a fresh UUID, or, with a key, the same UUID for the same caller,
// kind and key every time.
func newID(c auth.Identity, kind, key string) string {
	if key == "" {
		return uuid.NewString()
	}
	return uuid.NewSHA1(idNamespace, []byte(kind+"|"+c.LogID()+"|"+key)).String()
}

// appointmentEncounterID is the encounter of an appointment: one per
// appointment and patient, whoever creates it first (link-appointment or a
// doctor naming the appointment).
func appointmentEncounterID(appointmentID, patientID int64) string {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "appointment|%d|patient|%d", appointmentID, patientID)).String()
}

// once runs work under an idempotency key: a replay of key in scope gets
// the first answer, a reuse for another request is a 422, concurrent
// duplicates run it once. work must itself be idempotent (its inserts use
// ids derived from the key).
func once[T any](ctx context.Context, s *Service, scope, key string, request any, work func(ctx context.Context) (T, int, error)) (Result[T], error) {
	stored, err := s.keys.Do(ctx, scope, key, fingerprint(scope, request), func(ctx context.Context) (int, []byte, error) {
		v, status, err := work(ctx)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(v)
		return status, b, err
	})
	if err != nil {
		return Result[T]{}, err
	}
	var v T
	if err := json.Unmarshal(stored.Body, &v); err != nil {
		return Result[T]{}, fmt.Errorf("decode stored answer: %w", err)
	}
	return Result[T]{Value: v, Status: stored.Status}, nil
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

// storeErr maps the store's sentinel errors to what the client is told.
func storeErr(err error, notFound error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return notFound
	case errors.Is(err, ErrConflict):
		return errEditConflict
	}
	return fmt.Errorf("%s: %w", what, err)
}
