// Package audit records who did what to whose data. Every state change and
// every read of a patient's data becomes an Event, put in the service's
// outbox in the same write as the change (or right after a read), and
// delivered to the admin service's append-only, hash-chained log. Until the
// admin service takes them, the events wait in the outbox: none is lost,
// and its event_id makes a redelivery harmless.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/auth"
	"hospital/lib/logging"
	"hospital/lib/outbox"
)

// Outcomes.
const (
	Success = "SUCCESS"
	Denied  = "DENIED"
	Failed  = "FAILED"
)

// Event is one audited action. Details never hold clinical content: ids,
// field names and reasons only.
type Event struct {
	EventID      string         `json:"event_id"`
	Timestamp    time.Time      `json:"timestamp"`
	Service      string         `json:"service_name"`
	Action       string         `json:"action_performed"`
	UserID       int64          `json:"user_id,omitempty"`
	Role         string         `json:"role"`
	ActorService string         `json:"actor_service,omitempty"`
	PatientID    int64          `json:"patient_id,omitempty"`
	ObjectType   string         `json:"object_type,omitempty"`
	ObjectID     string         `json:"object_id,omitempty"`
	Outcome      string         `json:"outcome"`
	RequestID    string         `json:"request_id,omitempty"`
	ClientIP     string         `json:"client_ip,omitempty"`
	BreakGlass   bool           `json:"break_glass,omitempty"`
	Details      map[string]any `json:"details,omitempty"`
}

// New starts an event for action (e.g. "ehr.record.read") in service, with
// the caller, request ID and client address taken from ctx.
func New(ctx context.Context, service, action string) Event {
	var b [16]byte
	_, _ = rand.Read(b[:])
	e := Event{
		EventID: hex.EncodeToString(b[:]), Timestamp: time.Now().UTC(), Service: service, Action: action,
		Outcome: Success, RequestID: logging.RequestID(ctx), ClientIP: logging.ClientIP(ctx),
	}
	if id, ok := auth.FromContext(ctx); ok {
		e.UserID, e.Role = id.UserID, id.Role
		if id.IsService() {
			e.ActorService = id.Service
		}
	}
	return e
}

// OnPatient sets the patient whose data the action touched.
func (e Event) OnPatient(id int64) Event { e.PatientID = id; return e }

// On sets the object the action touched.
func (e Event) On(objectType, objectID string) Event {
	e.ObjectType, e.ObjectID = objectType, objectID
	return e
}

// WithOutcome sets the outcome (Success by default).
func (e Event) WithOutcome(outcome string) Event { e.Outcome = outcome; return e }

// With adds a detail (an id, a field name, a reason: never clinical content).
func (e Event) With(key string, v any) Event {
	d := make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		d[k] = v
	}
	d[key] = v
	e.Details = d
	return e
}

// Message is the outbox message that delivers e to the admin service.
func (e Event) Message() outbox.Message {
	return outbox.Message{Key: "audit:" + e.EventID, Service: adminapi.Service, Method: http.MethodPost,
		Path: adminapi.AuditEventsPath, Body: e}
}
