package oversight

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The audit log is a hash chain: entry n carries the hash of entry n-1
// (prev_hash) and its own hash, SHA-256 over that prev_hash and the
// canonical form of every field of the entry, position included. Editing a
// stored entry changes what its fields hash to; deleting one leaves a gap
// in the positions and a prev_hash that names nothing; rehashing the
// edited entry breaks the link to the next one; cutting the tail leaves
// the chain head pointing past the end. Only rewriting every later entry
// and the head together goes unnoticed, which takes write access to the
// database and recomputing the chain (the head's hash, logged on every
// verification, is what an operator keeps elsewhere to rule that out).

// GenesisHash is the prev_hash of the first entry.
var GenesisHash = strings.Repeat("0", 64)

// canonical is an entry's hashed form: fixed field order, times in UTC to
// the microsecond (what the database keeps), details as stored.
type canonical struct {
	Position     int64           `json:"position"`
	EventID      string          `json:"event_id"`
	Timestamp    string          `json:"timestamp"`
	Service      string          `json:"service_name"`
	Action       string          `json:"action_performed"`
	UserID       *int64          `json:"user_id"`
	Role         string          `json:"role"`
	ActorService string          `json:"actor_service"`
	PatientID    *int64          `json:"patient_id"`
	ObjectType   string          `json:"object_type"`
	ObjectID     string          `json:"object_id"`
	Outcome      string          `json:"outcome"`
	RequestID    string          `json:"request_id"`
	ClientIP     string          `json:"client_ip"`
	BreakGlass   bool            `json:"break_glass"`
	Details      json.RawMessage `json:"details"`
	ReceivedAt   string          `json:"received_at"`
}

const hashTime = "2006-01-02T15:04:05.000000Z"

// EntryHash is the hash entry e must carry after an entry whose hash is
// prev.
func EntryHash(prev string, e Entry) string {
	c := canonical{
		Position: e.Position, EventID: e.EventID, Timestamp: e.Timestamp.UTC().Format(hashTime),
		Service: e.Service, Action: e.Action, UserID: e.UserID, Role: e.Role, ActorService: e.ActorService,
		PatientID: e.PatientID, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Outcome: e.Outcome,
		RequestID: e.RequestID, ClientIP: e.ClientIP, BreakGlass: e.BreakGlass, Details: e.Details,
		ReceivedAt: e.ReceivedAt.UTC().Format(hashTime),
	}
	// Details is already canonical JSON (ingest made it so); Marshal
	// keeps a RawMessage as it is, apart from compacting whitespace.
	body, err := json.Marshal(c)
	if err != nil {
		// Only invalid JSON in Details gets here: hash its bytes as a
		// string so the entry still has a hash (and fails verification if
		// it was stored that way).
		c.Details, _ = json.Marshal(string(e.Details))
		body, _ = json.Marshal(c)
	}
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// microseconds is t as the database keeps it.
func microseconds(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// appendEntries chains entries after the head inside tx, skipping events
// already in the log (and repeats within entries): it sets their
// positions, received time and hashes, inserts them and moves the head. It
// returns each entry's position by event_id and which were already there.
func appendEntries(ctx context.Context, tx Tx, entries []Entry, now time.Time) (map[string]int64, map[string]bool, error) {
	head, err := tx.LockHead(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.EventID
	}
	positions, err := tx.Positions(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	dup := make(map[string]bool, len(positions))
	for id := range positions {
		dup[id] = true
	}
	received := microseconds(now)
	var fresh []Entry
	for _, e := range entries {
		if _, seen := positions[e.EventID]; seen {
			continue
		}
		e.Position = head.Position + 1
		e.ReceivedAt = received
		e.PrevHash = head.Hash
		e.Hash = EntryHash(head.Hash, e)
		head = ChainHead{Position: e.Position, Hash: e.Hash}
		positions[e.EventID] = e.Position
		fresh = append(fresh, e)
	}
	if len(fresh) == 0 {
		return positions, dup, nil
	}
	if err := tx.Insert(ctx, fresh); err != nil {
		return nil, nil, fmt.Errorf("append %d audit entries: %w", len(fresh), err)
	}
	if err := tx.SetHead(ctx, head, received); err != nil {
		return nil, nil, err
	}
	return positions, dup, nil
}
