package recordstest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/adminapi"
	"hospital/lib/apitest"
	"hospital/lib/appointmentapi"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/mongodb"
	"hospital/lib/outbox/mongoqueue"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/ehr/records"
	"hospital/svc/ehr/store"
)

// Env is one EHR domain over a fresh FerretDB database.
type Env struct {
	*World
	T      testing.TB
	DB     *mongo.Database
	Store  *store.Store
	Svc    *records.Service
	Signer *auth.Signer
	// Client is the service's client, with its service token.
	Client *svcclient.Client
}

// New starts an Env on the shared FerretDB; opts, when given, change the
// domain's options (which start with no caching, so each test sees the
// other services' state).
func New(t testing.TB, opts ...func(*records.Options)) *Env {
	t.Helper()
	return NewOn(t, testkit.SharedFerretDB(t), opts...)
}

// NewOn is New on the FerretDB server f (one a test may stop).
func NewOn(t testing.TB, f *testkit.FerretDB, opts ...func(*records.Options)) *Env {
	t.Helper()
	w := SharedWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongodb.Connect(ctx, f.URI, "ehr-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := client.Database(f.NewDatabase(t))
	st := store.New(db, store.Options{Location: Clinic, Logger: slog.Default()})
	if err := st.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{World: w, T: t, DB: db, Store: st, Signer: auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)}
	rctx, rcancel := context.WithCancel(context.Background())
	t.Cleanup(rcancel)
	e.Client = svcclient.New(records.ServiceName, discovery.New(rctx, w.Consul.Client, slog.Default()), svcclient.Options{})
	e.Client.SetTokenSource(svcclient.NewClientCredentials(e.Client, records.ServiceName, EHRSecret))
	o := records.Options{Location: Clinic, MinReason: 10, Logger: slog.Default()}
	for _, fn := range opts {
		fn(&o)
	}
	e.Svc = records.New(st, st.Keys(), userapi.NewClient(e.Client), appointmentapi.NewClient(e.Client), o)
	return e
}

// As is a context in which user id (with their role) calls.
func (e *Env) As(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: e.Role[id]})
}

// AsService is a context in which the named service calls.
func AsService(name string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Role: auth.RoleService, Service: name})
}

// BreakingGlass is ctx with a break-the-glass reason.
func BreakingGlass(ctx context.Context) context.Context {
	return records.WithBreakGlass(ctx, "Unconscious patient in the emergency room")
}

// Token signs an access token for user id (or, with id 0, the service).
func (e *Env) Token(id int64, service string) string {
	e.T.Helper()
	ident := auth.Identity{UserID: id, Role: e.Role[id]}
	if id == 0 {
		ident = auth.Identity{Role: auth.RoleService, Service: service}
	}
	tok, err := e.Signer.Sign(ident, time.Hour, fmt.Sprintf("t-%d-%s-%d", id, service, time.Now().UnixNano()))
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Verifier checks the tokens Token signs.
func (e *Env) Verifier() *auth.Verifier {
	return auth.NewVerifier(e.Signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience)
}

// Count counts the documents of coll matching filter.
func (e *Env) Count(coll string, filter bson.D) int64 {
	e.T.Helper()
	if filter == nil {
		filter = bson.D{}
	}
	n, err := e.DB.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		e.T.Fatal(err)
	}
	return n
}

// AuditEvents returns the audit events waiting in the outbox for the admin
// service, in no particular order.
func (e *Env) AuditEvents() []audit.Event {
	e.T.Helper()
	cur, err := e.DB.Collection(mongoqueue.MessagesCollection).Find(context.Background(), bson.D{{Key: "target", Value: adminapi.Service}})
	if err != nil {
		e.T.Fatal(err)
	}
	var docs []struct {
		Path string `bson:"path"`
		Body []byte `bson:"body"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		e.T.Fatal(err)
	}
	out := make([]audit.Event, 0, len(docs))
	for _, d := range docs {
		if d.Path != adminapi.AuditEventsPath {
			e.T.Fatalf("audit event sent to %s", d.Path)
		}
		var ev audit.Event
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			e.T.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// Events returns the audit events of action.
func (e *Env) Events(action string) []audit.Event {
	e.T.Helper()
	var out []audit.Event
	for _, ev := range e.AuditEvents() {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// Expect fails the test unless err is answered with status.
func (e *Env) Expect(what string, err error, status int) {
	e.T.Helper()
	apitest.ExpectStatus(e.T, what, err, status)
}
