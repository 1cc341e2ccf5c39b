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
	"log/slog"
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
	"hospital/lib/discovery"
	"hospital/lib/mongodb"
	"hospital/lib/svcclient"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) {
	os.Exit(testkit.Main(m))
}

// The user service's bootstrap admin, its client entry for this service,
// and every test user's password.
const (
	notificationSecret = "notification-test-secret"
	userPassword       = "Blue-Lotus-2026"
)

// users is a real user service, in a Consul agent of its own, with the
// recipients the tests send to, created through its API.
type users struct {
	consul  *testkit.Consul
	svc     *testkit.UserService
	patient int64 // lan: email and phone
	doctor  int64 // binh: email only
}

// sharedUsers is the user service the tests of this binary share, started
// by the first test that needs it.
var sharedUsers = testkit.SharedOnce(startUsers)

// startUsers starts Consul and the user service on a database of their own
// and creates Lan (a patient) and Binh (a doctor).
func startUsers(t testing.TB) *users {
	t.Helper()
	u := &users{consul: testkit.StartConsul(t)}
	u.svc = testkit.StartUserService(t, u.consul, "notification="+notificationSecret)
	u.patient = u.register(t, "", map[string]any{"username": "lan", "email": "lan@patients.test",
		"first_name": "Lan", "last_name": "Nguyen", "phone_number": "+84901234567"})
	u.doctor = u.register(t, u.adminToken(t), map[string]any{"username": "drbinh", "email": "dr.binh@hospital.test",
		"first_name": "Binh", "last_name": "Tran", "role_name": auth.RoleDoctor})
	return u
}

// call sends a JSON request straight to the user service.
func (u *users) call(t testing.TB, method, path, token, key string, body any) (int, []byte) {
	t.Helper()
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u.svc.URL+path, bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("user service %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// adminToken logs in as the bootstrap admin.
func (u *users) adminToken(t testing.TB) string {
	t.Helper()
	status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", "",
		map[string]string{"username": u.svc.AdminUsername, "password": u.svc.AdminPassword})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusOK || err != nil || out.AccessToken == "" {
		t.Fatalf("admin login: %d %s", status, raw)
	}
	return out.AccessToken
}

// register creates a user (password userPassword) and returns its id: a
// patient by self-registration, or with adminToken any role_name in body.
// The username is the Idempotency-Key, so asking again returns the same user.
func (u *users) register(t testing.TB, adminToken string, body map[string]any) int64 {
	t.Helper()
	body["password"] = userPassword
	path := "/api/v1/users/register/"
	if adminToken != "" {
		path = "/api/v1/admin/users/"
	}
	status, raw := u.call(t, http.MethodPost, path, adminToken, "notification-test:"+fmt.Sprint(body["username"]), body)
	var out struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &out); status != http.StatusCreated || err != nil || out.ID == 0 {
		t.Fatalf("create user %v: %d %s", body["username"], status, raw)
	}
	return out.ID
}

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
	users    *users
	patient  int64 // the users' Lan
	doctor   int64 // the users' Binh
	srv      *httptest.Server
	signer   *auth.Signer
	worker   *Worker
	stopWork func()
}

type envConfig struct {
	worker   WorkerOptions
	noWorker bool
	// ownUsers gives the test a user service of its own, which it may stop.
	ownUsers bool
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
	if cfg.ownUsers {
		e.users = startUsers(t)
	} else {
		e.users = sharedUsers(t)
	}
	e.patient, e.doctor = e.users.patient, e.users.doctor
	e.worker = NewWorker(e.store, e.senders, testWorkerOptions(cfg.worker))
	// Contacts come from the user service, found in its Consul and called
	// with this service's token, as in production.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	client := svcclient.New("notification", discovery.New(ctx, e.users.consul.Client, slog.Default()), svcclient.Options{})
	client.SetTokenSource(svcclient.NewClientCredentials(client, "notification", notificationSecret))
	e.svc = New(e.store, UserContacts{Client: client, Log: slog.Default()}, e.worker, Options{UrgentHold: time.Minute})

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
	return e.token(auth.Identity{UserID: e.patient, Role: auth.RolePatient, Username: "lan"})
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
