package dispensingtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"hospital/lib/apitest"
	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/discovery"
	"hospital/lib/ehrapi"
	"hospital/lib/mongodb"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
	"hospital/lib/userapi"
	"hospital/svc/pharmacy/dispensing"
	"hospital/svc/pharmacy/store"
)

// Clinic is the clinic's zone in the tests.
var Clinic = mustLoc("Asia/Ho_Chi_Minh")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// Start is the tests' "now": Monday 7 December 2026, 09:00 in the clinic.
var Start = time.Date(2026, 12, 7, 9, 0, 0, 0, Clinic)

// Quiet is a logger that drops everything.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Config is the service's configuration in the tests.
func Config() dispensing.Config {
	c := dispensing.Config{
		ClinicTimezone: "Asia/Ho_Chi_Minh", ExpiryWarningDays: 30, MaxItemQuantity: 10000,
		DispenseTimeout: 20 * time.Second, DispenseLease: 60 * time.Second, RecoveryInterval: time.Minute,
	}
	c.ServiceSecret = PharmacySecret
	return c
}

// Env is a pharmacy Service over its own fresh database on the shared
// FerretDB, looking users up in the shared user service and the EHR through
// Consul, as in production.
type Env struct {
	People
	T      testing.TB
	Users  *Users
	URI    string
	DBName string
	DB     *mongo.Database // for assertions on the raw documents
	Store  *store.Store
	Svc    *dispensing.Service
	Clock  *testkit.Clock
	Client *svcclient.Client
	Cfg    dispensing.Config
}

// New starts an Env with cfg (Config() when nil).
func New(t testing.TB, cfg *dispensing.Config) *Env {
	t.Helper()
	u := SharedUsers(t)
	f := testkit.SharedFerretDB(t)
	if cfg == nil {
		c := Config()
		cfg = &c
	}
	e := &Env{People: u.People, T: t, Users: u, URI: f.URI, DBName: f.NewDatabase(t), Clock: testkit.NewClock(Start), Cfg: *cfg}
	rctx, rcancel := context.WithCancel(context.Background())
	t.Cleanup(rcancel)
	e.Client = svcclient.New(dispensing.ServiceName, discovery.New(rctx, u.Consul.Client, Quiet), svcclient.Options{Logger: Quiet})
	e.Client.SetTokenSource(svcclient.NewClientCredentials(e.Client, dispensing.ServiceName, PharmacySecret))
	e.Svc, e.Store = e.Instance()
	e.DB = e.Store.Database()
	return e
}

// Instance is one more instance of the service: its own connection pool to
// the same database, the same peers and clock.
func (e *Env) Instance() (*dispensing.Service, *store.Store) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongodb.Connect(ctx, e.URI, "pharmacy-test")
	if err != nil {
		e.T.Fatal(err)
	}
	e.T.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	st := store.New(client.Database(e.DBName, options.Database().SetRegistry(store.Registry())), store.Options{Logger: Quiet})
	if err := st.Migrate(ctx); err != nil {
		e.T.Fatal(err)
	}
	users := userapi.NewClient(e.Client)
	svc, err := dispensing.New(e.Cfg, dispensing.Deps{Store: st, Users: users, Roster: users,
		EHR: ehrapi.NewClient(e.Client), Now: e.Clock.Now, Logger: Quiet})
	if err != nil {
		e.T.Fatal(err)
	}
	st.OnDelivered(svc.Delivered)
	return svc, st
}

// As is a context in which user id (with the role the tests gave them) calls.
func (e *Env) As(id int64) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{UserID: id, Role: e.Role(id), Username: fmt.Sprintf("u%d", id)})
}

// AsService is a context in which a service calls.
func AsService(name string) context.Context {
	return auth.WithIdentity(context.Background(), auth.Identity{Role: auth.RoleService, Service: name})
}

// Medication adds a catalog entry (as the admin).
func (e *Env) Medication(code, name, generic, price string) dispensing.Medication {
	e.T.Helper()
	m, err := e.Svc.CreateMedication(e.As(e.Admin), dispensing.MedicationRequest{MedicationCode: code, Name: name,
		GenericName: generic, Manufacturer: "ABC Pharma", UnitPrice: price, DosageForm: "Tablet", Strength: "500mg"})
	if err != nil {
		e.T.Fatal(err)
	}
	return m
}

// Receive takes a batch into stock (as pharmacist A); expiresIn is its
// expiry date in days from today.
func (e *Env) Receive(medicationID, batch string, qty int64, expiresIn int) dispensing.StockView {
	e.T.Helper()
	v, err := e.Svc.UpdateStock(e.As(e.PharmacistA), medicationID, dispensing.StockUpdate{
		BatchNumber: batch, Quantity: qty, ExpiryDate: e.Day(expiresIn), Reason: "delivery"})
	if err != nil {
		e.T.Fatal(err)
	}
	return v
}

// Day is the date days from the clock's today in the clinic (YYYY-MM-DD).
func (e *Env) Day(days int) string {
	return e.Clock.Now().In(Clinic).AddDate(0, 0, days).Format(time.DateOnly)
}

// fixtures numbers fixture prescriptions, so their ids never repeat.
var fixtures atomic.Int64

// Line is one item of a fixture prescription.
type Line struct {
	Medication dispensing.Medication
	Quantity   int64
}

// Prescription stores a prescription as prescribing writes it, in status
// (VERIFIED or PENDING_VERIFICATION), straight through the store: the
// dispensing tests need many, and writing one through Prescribe asks the
// EHR, which the prescribing tests exercise.
func (e *Env) Prescription(patient, doctor int64, status string, lines ...Line) dispensing.Prescription {
	e.T.Helper()
	now := e.Clock.Now().UTC()
	p := dispensing.Prescription{
		ID: fmt.Sprintf("%016x%08x", time.Now().UnixNano(), fixtures.Add(1)), PatientID: patient, PatientName: "Nguyen Van A", DoctorID: doctor,
		DoctorName: "Tran Thi B", DatePrescribed: now, Status: status, DispenseHistory: []dispensing.DispenseEntry{},
		AllergyCheck: dispensing.AllergyCheck{CheckedAt: now, Allergies: []string{}, Matches: []dispensing.AllergyMatch{}},
		UpdatedAt:    now, AwaitingPharmacy: true, Pending: []dispensing.PendingDispense{},
	}
	for i, l := range lines {
		p.Items = append(p.Items, dispensing.Item{ItemID: fmt.Sprintf("item-%d-%s", i, p.ID[16:]), MedicationID: l.Medication.ID,
			MedicationName: l.Medication.Name, Dosage: "1 tablet", Frequency: "3 times a day", DurationDays: 5, QuantityPrescribed: l.Quantity})
	}
	if err := e.Store.CreatePrescription(context.Background(), &p); err != nil {
		e.T.Fatal(err)
	}
	return p
}

// Stock reads a medication's stock record.
func (e *Env) Stock(medicationID string) dispensing.Stock {
	e.T.Helper()
	st, err := e.Store.Stock(context.Background(), medicationID)
	if err != nil {
		e.T.Fatal(err)
	}
	return st
}

// Message is the queued outbox message with key, and its decoded body; ok
// is false when there is none.
func (e *Env) Message(key string) (body map[string]any, ok bool) {
	e.T.Helper()
	var m struct {
		Body []byte `bson:"body"`
	}
	err := e.DB.Collection("outbox_messages").FindOne(context.Background(), bson.D{{Key: "_id", Value: key}}).Decode(&m)
	if mongodb.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		e.T.Fatal(err)
	}
	if err := json.Unmarshal(m.Body, &body); err != nil {
		e.T.Fatal(err)
	}
	return body, true
}

// Count counts the documents of coll matching filter.
func (e *Env) Count(coll string, filter bson.D) int {
	e.T.Helper()
	n, err := e.DB.Collection(coll).CountDocuments(context.Background(), filter)
	if err != nil {
		e.T.Fatal(err)
	}
	return int(n)
}

// Expect fails the test unless err is answered with status.
func (e *Env) Expect(what string, err error, status int) {
	e.T.Helper()
	apitest.ExpectStatus(e.T, what, err, status)
}

// Code is the problem code of err ("" if none).
func Code(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return ""
}
