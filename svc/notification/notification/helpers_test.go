package notification

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"hospital/lib/auth"
	"hospital/lib/mongodb"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// directory is the recipients' contact info as the user service would
// answer it (the real lookup is exercised by the system tests in e2e/).
type directory struct {
	mu       sync.Mutex
	contacts map[int64]Contact
	calls    int
}

func (d *directory) Contact(_ context.Context, id int64) (Contact, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	c, ok := d.contacts[id]
	if !ok {
		return c, errRecipientNotFound
	}
	return c, nil
}

func (d *directory) set(c Contact) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.contacts[c.UserID] = c
}

func strPtr(s string) *string { return &s }

// Recipients every test environment knows.
const (
	patientID = 101 // email, phone, Vietnamese
	doctorID  = 202 // email only, English
	noMailID  = 303 // phone only
)

type env struct {
	t        *testing.T
	svc      *Service
	store    *Store
	db       *mongo.Database
	dbName   string
	mail     *testkit.Mailpit
	sms      *Sink
	push     *Sink
	senders  Senders
	dir      *directory
	srv      *httptest.Server
	signer   *auth.Signer
	worker   *Worker
	stopWork func()
}

type envConfig struct {
	worker   WorkerOptions
	noWorker bool
}

func connectDB(t *testing.T, name string) *mongo.Database {
	t.Helper()
	f := testkit.SharedFerretDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongodb.Connect(ctx, f.URI, "notification-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c.Database(name)
}

func testWorkerOptions(o WorkerOptions) WorkerOptions {
	if o.Poll == 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 50 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 200 * time.Millisecond
	}
	if o.Lease == 0 {
		o.Lease = 30 * time.Second
	}
	if o.SendTimeout == 0 {
		o.SendTimeout = 5 * time.Second
	}
	if o.Instance == "" {
		o.Instance = "worker-1"
	}
	return o
}

func newEnv(t *testing.T, cfgs ...envConfig) *env {
	t.Helper()
	var cfg envConfig
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	e := &env{t: t}
	e.dbName = testkit.SharedFerretDB(t).NewDatabase(t)
	e.db = connectDB(t, e.dbName)
	e.store = NewStore(e.db, "test")
	if err := e.store.Init(context.Background(), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	e.mail = testkit.StartMailpit(t)
	smtp, err := NewSMTPSender(SMTPConfig{Addr: e.mail.SMTPAddr, From: "Bệnh viện <no-reply@hospital.test>", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.sms, e.push = NewSink(ChannelSMS, nil), NewSink(ChannelPush, nil)
	e.senders = Senders{ChannelEmail: smtp, ChannelSMS: e.sms, ChannelPush: e.push}
	e.dir = &directory{contacts: map[int64]Contact{
		patientID: {UserID: patientID, Email: "lan@patients.test", PhoneNumber: strPtr("+84901234567"), FirstName: "Lan", LastName: "Nguyen", Username: "lan", Language: "vi"},
		doctorID:  {UserID: doctorID, Email: "dr.binh@hospital.test", FirstName: "Binh", LastName: "Tran", Username: "drbinh", Language: "en"},
		noMailID:  {UserID: noMailID, PhoneNumber: strPtr("+84907654321"), Username: "nomail", Language: "vi"},
	}}
	e.worker = NewWorker(e.store, e.senders, testWorkerOptions(cfg.worker))
	e.svc = New(e.store, e.dir, e.worker, Options{UrgentHold: time.Minute})

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e.signer = auth.NewSigner(key, auth.DefaultIssuer, auth.DefaultAudience)
	e.srv = httptest.NewServer(Router(e.svc, auth.NewVerifier(e.signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience)))
	t.Cleanup(e.srv.Close)
	e.stopWork = func() {}
	if !cfg.noWorker {
		e.stopWork = runWorker(t, e.worker)
	}
	return e
}

// runWorker runs w until the returned stop is called (or the test ends).
func runWorker(t *testing.T, w *Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (e *env) token(id auth.Identity) string {
	e.t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	tok, err := e.signer.Sign(id, time.Hour, hex.EncodeToString(b[:]))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) serviceToken(name string) string {
	return e.token(auth.Identity{Role: auth.RoleService, Service: name})
}
func (e *env) adminToken() string {
	return e.token(auth.Identity{UserID: 1, Role: auth.RoleAdmin, Username: "admin"})
}
func (e *env) patientToken() string {
	return e.token(auth.Identity{UserID: patientID, Role: auth.RolePatient, Username: "lan"})
}

type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *env) do(method, path, token string, body any, header map[string]string) result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func expect(t *testing.T, what string, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
	if status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: content-type %q, want application/problem+json", what, ct)
		}
		if r.str("detail") == "" {
			t.Fatalf("%s: problem without detail: %s", what, r.raw)
		}
	}
}

// send posts to /send/ as the user service would.
func (e *env) send(body any, key string) result {
	e.t.Helper()
	h := map[string]string{}
	if key != "" {
		h[HeaderIdempotencyKey] = key
	}
	return e.do(http.MethodPost, PathSend, e.serviceToken("user"), body, h)
}

func registered(id int64, name string) map[string]any {
	return map[string]any{
		"notification_type": TypeUserRegistered, "recipient_id": id, "channel": "EMAIL",
		"data": map[string]any{"user_name": name, "confirmation_link": "https://hospital.test/login"},
	}
}

// waitLog waits until log id satisfies cond and returns it.
func (e *env) waitLog(id string, what string, cond func(Log) bool) Log {
	e.t.Helper()
	var l Log
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		var err error
		if l, err = e.store.GetLog(ctx, id); err != nil {
			return err
		}
		if !cond(l) {
			return fmt.Errorf("log %s is %s (attempts %d): not yet %s", id, l.Status, l.Attempts, what)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) countLogs(filter bson.D) int64 {
	e.t.Helper()
	if filter == nil {
		filter = bson.D{}
	}
	n, err := e.store.logs.CountDocuments(context.Background(), filter)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func sent(l Log) bool { return l.Status == StatusSent }
