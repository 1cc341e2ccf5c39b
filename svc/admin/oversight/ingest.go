package oversight

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unicode"

	"hospital/lib/adminapi"
	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/dates"
)

// Ingest appends one event a service sent (lib/audit, through its outbox).
// A replayed event_id answers where the event already stands and adds
// nothing. The event must name the calling service as its service_name:
// no service writes in another's name.
func (s *Service) Ingest(ctx context.Context, ev audit.Event) (adminapi.AuditReceipt, error) {
	c, err := auth.Caller(ctx)
	if err != nil {
		return adminapi.AuditReceipt{}, err
	}
	e, err := entryFrom(ev)
	if err != nil {
		return adminapi.AuditReceipt{}, err
	}
	if !c.IsService() || c.Service != e.Service {
		return adminapi.AuditReceipt{}, errServiceMismatch
	}
	pos, dup, err := s.chain.append(ctx, e)
	if err != nil {
		return adminapi.AuditReceipt{}, err
	}
	return adminapi.AuditReceipt{EventID: e.EventID, Position: pos, Duplicate: dup}, nil
}

// Column sizes of the log (store/migrations): an event that does not fit
// is refused whole rather than cut, since a cut value would be stored as
// something the service never sent.
const (
	maxEventID   = 64
	maxName      = 50
	maxAction    = 100
	maxRole      = 30
	maxObjectID  = 100
	maxRequestID = 100
	maxClientIP  = 64
	maxDetails   = 64 << 10
)

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// entryFrom checks ev and turns it into an entry to append: details in
// canonical JSON (sorted keys), the time to the microsecond.
func entryFrom(ev audit.Event) (Entry, error) {
	fields := map[string][]string{}
	bad := func(f, msg string) { fields[f] = append(fields[f], msg) }
	text := func(f, v string, max int, required bool) {
		switch {
		case v == "" && required:
			bad(f, "This field is required.")
		case len(v) > max:
			bad(f, "At most "+strconv.Itoa(max)+" bytes.")
		case !printable(v):
			bad(f, "Control characters are not allowed.")
		}
	}
	switch {
	case ev.EventID == "":
		bad("event_id", "This field is required.")
	case len(ev.EventID) > maxEventID || !eventIDPattern.MatchString(ev.EventID):
		bad("event_id", "Letters, digits and _.:- only, at most 64.")
	}
	if ev.Timestamp.IsZero() {
		bad("timestamp", "This field is required.")
	} else if err := dates.InRange(ev.Timestamp); err != nil {
		bad("timestamp", err.Error())
	}
	text("service_name", ev.Service, maxName, true)
	text("action_performed", ev.Action, maxAction, true)
	text("role", ev.Role, maxRole, false)
	text("actor_service", ev.ActorService, maxName, false)
	text("object_type", ev.ObjectType, maxName, false)
	text("object_id", ev.ObjectID, maxObjectID, false)
	text("request_id", ev.RequestID, maxRequestID, false)
	text("client_ip", ev.ClientIP, maxClientIP, false)
	switch ev.Outcome {
	case audit.Success, audit.Denied, audit.Failed:
	default:
		bad("outcome", "One of SUCCESS, DENIED, FAILED.")
	}
	if ev.UserID < 0 {
		bad("user_id", "Must not be negative.")
	}
	if ev.PatientID < 0 {
		bad("patient_id", "Must not be negative.")
	}
	details := []byte("{}")
	if len(ev.Details) > 0 {
		// Marshal sorts map keys at every level: one event, one form.
		b, err := json.Marshal(ev.Details)
		switch {
		case err != nil:
			bad("details", "Must be a JSON object.")
		case len(b) > maxDetails:
			bad("details", "At most 64 KiB of JSON.")
		default:
			details = b
		}
	}
	if len(fields) > 0 {
		return Entry{}, apperr.Validation(fields)
	}
	return Entry{
		EventID: ev.EventID, Timestamp: microseconds(ev.Timestamp), Service: ev.Service, Action: ev.Action,
		UserID: positive(ev.UserID), Role: ev.Role, ActorService: ev.ActorService, PatientID: positive(ev.PatientID),
		ObjectType: ev.ObjectType, ObjectID: ev.ObjectID, Outcome: ev.Outcome, RequestID: ev.RequestID,
		ClientIP: ev.ClientIP, BreakGlass: ev.BreakGlass, Details: details,
	}, nil
}

func positive(v int64) *int64 {
	if v <= 0 {
		return nil
	}
	return &v
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// committer appends entries to the chain in batches: whoever arrives while
// an append is in flight waits for the next one, which takes everybody
// waiting (up to max) in one transaction. The chain head's row lock
// serialises appends across instances; within an instance this turns many
// small transactions queuing on that lock into a few large ones, at no
// added latency for a lone event.
type committer struct {
	store Store
	max   int
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	queue   []*pendingEntry
	running bool
}

type pendingEntry struct {
	entry     Entry
	done      chan struct{}
	position  int64
	duplicate bool
	err       error
}

// appendTimeout bounds one batch's transaction, whoever waits for it.
const appendTimeout = 30 * time.Second

// append queues e and waits (up to ctx) until it is in the chain. The
// entry may still be appended after ctx ends; a retry of the event then
// finds it there.
func (c *committer) append(ctx context.Context, e Entry) (int64, bool, error) {
	p := &pendingEntry{entry: e, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go c.drain()
	}
	select {
	case <-p.done:
		return p.position, p.duplicate, p.err
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}

func (c *committer) drain() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		if n == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		batch := make([]*pendingEntry, n)
		copy(batch, c.queue)
		c.queue = append(c.queue[:0:0], c.queue[n:]...)
		c.mu.Unlock()
		c.commit(batch)
	}
}

// commit appends batch in one transaction; if that fails and the batch has
// more than one entry, each is tried alone, so one entry the database
// refuses does not fail the others.
func (c *committer) commit(batch []*pendingEntry) {
	if err := c.commitTogether(batch); err != nil {
		if len(batch) == 1 {
			batch[0].err = err
			close(batch[0].done)
			return
		}
		c.log.Warn("audit append failed for a batch; appending its entries one by one", "entries", len(batch), "err", err.Error())
		for _, p := range batch {
			if err := c.commitTogether([]*pendingEntry{p}); err != nil {
				p.err = err
				close(p.done)
			}
		}
		return
	}
}

// commitTogether appends batch in one transaction and, on success,
// answers every waiter of it.
func (c *committer) commitTogether(batch []*pendingEntry) error {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	entries := make([]Entry, len(batch))
	for i, p := range batch {
		entries[i] = p.entry
	}
	var positions map[string]int64
	var dup map[string]bool
	err := c.store.InTx(ctx, func(tx Tx) error {
		var err error
		positions, dup, err = appendEntries(ctx, tx, entries, c.now())
		return err
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range batch {
		id := p.entry.EventID
		p.position, p.duplicate = positions[id], dup[id] || seen[id]
		seen[id] = true
		close(p.done)
	}
	return nil
}
