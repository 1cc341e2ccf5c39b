package notifytest

import (
	"context"
	"encoding/json"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/adminapi"
	"hospital/lib/audit"
	"hospital/lib/outbox/mongoqueue"
)

// AuditEvents returns the audit events queued in the outbox for the admin
// service (of action, or all for ""), oldest first.
func (e *Env) AuditEvents(action string) []audit.Event {
	e.T.Helper()
	cur, err := e.DB().Collection(mongoqueue.MessagesCollection).Find(context.Background(),
		bson.D{{Key: "target", Value: adminapi.Service}}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		e.T.Fatal(err)
	}
	var docs []struct {
		Key  string `bson:"_id"`
		Path string `bson:"path"`
		Body []byte `bson:"body"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		e.T.Fatal(err)
	}
	var out []audit.Event
	for _, d := range docs {
		if d.Path != adminapi.AuditEventsPath {
			e.T.Fatalf("audit message %s sent to %s", d.Key, d.Path)
		}
		var ev audit.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			e.T.Fatalf("audit message %s: %v", d.Key, err)
		}
		if d.Key != "audit:"+ev.EventID {
			e.T.Fatalf("audit message %s carries event %s", d.Key, ev.EventID)
		}
		if action == "" || ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// AuditEvent is the one audit event of action; it fails the test unless
// there is exactly one.
func (e *Env) AuditEvent(action string) audit.Event {
	e.T.Helper()
	evs := e.AuditEvents(action)
	if len(evs) != 1 {
		e.T.Fatalf("%d audit events %s queued, want 1: %+v", len(evs), action, evs)
	}
	return evs[0]
}
