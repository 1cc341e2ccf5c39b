package labtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/mongodb"
	"hospital/lib/outbox/mongoqueue"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/store"
)

// Clinic is the clinic's time zone.
var Clinic, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

// Env is one lab domain over a fresh database.
type Env struct {
	People
	Store  *store.Store
	Svc    *laboratory.Service
	Signer *auth.Signer
	Clock  *testkit.Clock
	Users  *Users
	// Directory is the user service client the domain uses.
	Directory userapi.Client
	// Catalog holds the tests Seed created, by code.
	Catalog map[string]laboratory.CatalogTest
	uri, db string
}

// NewEnv starts a lab domain over a fresh database of the shared FerretDB,
// its clock at noon in the clinic on 7 December 2026, with the catalog of
// Seed.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	return NewEnvOn(t, testkit.SharedFerretDB(t))
}

// NewEnvOn is NewEnv over a FerretDB of the test's own (one it may stop).
func NewEnvOn(t testing.TB, f *testkit.FerretDB) *Env {
	t.Helper()
	u := SharedUsers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongodb.Connect(ctx, f.URI, "lab-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	db := f.NewDatabase(t)
	st := store.New(client.Database(db), "lab-test", slog.Default())
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{People: u.People, Store: st, Users: u, Catalog: map[string]laboratory.CatalogTest{}, uri: f.URI, db: db,
		Clock:  testkit.NewClock(time.Date(2026, 12, 7, 12, 0, 0, 0, Clinic)),
		Signer: auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)}
	rctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	sc := svcclient.New("lab", discovery.New(rctx, u.Consul.Client, slog.Default()), svcclient.Options{})
	sc.SetTokenSource(svcclient.NewClientCredentials(sc, "lab", Secret))
	e.Directory = userapi.NewClient(sc)
	e.Svc = laboratory.New(st, e.Directory, laboratory.Options{Location: Clinic, Now: e.Clock.Now, Logger: slog.Default()})
	e.Seed(t)
	return e
}

// Instance is another lab Service over the same database with its own
// connections, as a second instance of the service would be.
func (e *Env) Instance(t testing.TB) *laboratory.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongodb.Connect(ctx, e.uri, "lab-test-2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	st := store.New(client.Database(e.db), "lab-test-2", slog.Default())
	return laboratory.New(st, e.Directory, laboratory.Options{Location: Clinic, Now: e.Clock.Now, Logger: slog.Default()})
}

func f(v float64) *float64 { return &v }
func n(v int) *int         { return &v }

// Seed puts the tests' catalog in: CBC (sex-specific hemoglobin and
// hematocrit, hemoglobin with a band for children and critical limits),
// GLU (one range for either sex, critical limits) and CULTURE (no values:
// its result is a report).
func (e *Env) Seed(t testing.TB) {
	t.Helper()
	ctx := e.As(e.Admin)
	for _, in := range []laboratory.CatalogTestRequest{
		{TestCode: "CBC", TestName: "Complete Blood Count", Description: "Measures various components of blood.",
			SampleTypeRequired: "Whole Blood (EDTA)", TurnAroundTimeHours: 2, Price: "150000.00",
			NormalRangesTemplate: map[string]laboratory.AnalyteTemplate{
				"hemoglobin": {Unit: "g/dL", Ranges: laboratory.Ranges{MaleMin: f(13.5), MaleMax: f(17.5), FemaleMin: f(12.0), FemaleMax: f(15.5)},
					CriticalMin: f(7.0), CriticalMax: f(20.0),
					AgeBands: []laboratory.AgeBand{{MinAgeYears: 0, MaxAgeYears: n(12), Ranges: laboratory.Ranges{Min: f(11.0), Max: f(14.5)}}}},
				"hematocrit": {Unit: "%", Ranges: laboratory.Ranges{MaleMin: f(41), MaleMax: f(53), FemaleMin: f(36), FemaleMax: f(46)}},
			}},
		{TestCode: "GLU", TestName: "Fasting Glucose", SampleTypeRequired: "Plasma (fluoride)", TurnAroundTimeHours: 1, Price: "80000.00",
			NormalRangesTemplate: map[string]laboratory.AnalyteTemplate{
				"glucose": {Unit: "mmol/L", Ranges: laboratory.Ranges{Min: f(3.9), Max: f(5.5)}, CriticalMin: f(2.5), CriticalMax: f(25)},
			}},
		{TestCode: "CULTURE", TestName: "Urine Culture", SampleTypeRequired: "Urine", TurnAroundTimeHours: 48, Price: "120000.00"},
	} {
		test, err := e.Svc.CreateTest(ctx, in)
		if err != nil {
			t.Fatalf("seed %s: %v", in.TestCode, err)
		}
		e.Catalog[test.TestCode] = test
	}
}

// As is ctx carrying the identity of user id (with their role).
func (e *Env) As(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: e.Role[id]})
}

// AsService is ctx carrying a service token's identity.
func AsService(name string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Role: auth.RoleService, Service: name})
}

// Token signs an access token for user id (or, with id 0, the service name).
func (e *Env) Token(t testing.TB, id int64, service string) string {
	t.Helper()
	ident := auth.Identity{UserID: id, Role: e.Role[id]}
	if id == 0 {
		ident = auth.Identity{Role: auth.RoleService, Service: service}
	}
	tok, err := e.Signer.Sign(ident, time.Hour, fmt.Sprintf("t-%d-%s-%d", id, service, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Verifier checks the tokens Token signs.
func (e *Env) Verifier() *auth.Verifier {
	return auth.NewVerifier(e.Signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience)
}

// Order places an order of the tests named by code for patient, as Doctor.
func (e *Env) Order(t testing.TB, patient int64, codes ...string) laboratory.Order {
	t.Helper()
	in := laboratory.OrderRequest{PatientID: patient}
	for _, c := range codes {
		in.Items = append(in.Items, laboratory.OrderItemRequest{TestCatalogID: e.Catalog[c].ID})
	}
	o, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", in)
	if err != nil {
		t.Fatalf("order %v for %d: %v", codes, patient, err)
	}
	return o
}

// Message is one message in the outbox.
type Message struct {
	Key     string
	Service string
	Path    string
	Body    map[string]any
}

// Messages returns the queued messages whose key starts with prefix.
func (e *Env) Messages(t testing.TB, prefix string) []Message {
	t.Helper()
	cur, err := e.Store.DB().Collection(mongoqueue.MessagesCollection).Find(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Key    string `bson:"_id"`
		Target string `bson:"target"`
		Path   string `bson:"path"`
		Body   []byte `bson:"body"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		t.Fatal(err)
	}
	var out []Message
	for _, d := range docs {
		if !strings.HasPrefix(d.Key, prefix) {
			continue
		}
		m := Message{Key: d.Key, Service: d.Target, Path: d.Path}
		if err := json.Unmarshal(d.Body, &m.Body); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// Audits returns the queued audit events with action.
func (e *Env) Audits(t testing.TB, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range e.Messages(t, "audit:") {
		if m.Body["action_performed"] == action {
			out = append(out, m.Body)
		}
	}
	return out
}
