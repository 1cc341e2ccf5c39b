package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// TestProcess runs the real binary: two instances on one database, found
// through a real Consul agent. It checks what only main wires together:
// configuration, migrations, the bootstrap admin, readiness, the JWKS from
// the key file, and the outbox dispatcher retrying while the Notification
// service does not exist.
func TestProcess(t *testing.T) {
	consul := testkit.StartConsul(t)
	dsn := testkit.SharedMariaDB(t).NewDatabase(t)
	bin := testkit.Build(t, "hospital/svc/user")
	keyFile := filepath.Join(t.TempDir(), "keys", "jwt.pem")
	env := []string{
		"MYSQL_DSN=" + dsn,
		"JWT_KEY_FILE=" + keyFile,
		"JWT_GENERATE_KEY=true",
		"SERVICE_CLIENTS=notification=proc-secret",
		"BOOTSTRAP_ADMIN_USERNAME=first-admin",
		"BOOTSTRAP_ADMIN_PASSWORD=Silver-Maple-Pass-1",
		"BOOTSTRAP_ADMIN_EMAIL=first-admin@hospital.test",
		"PUBLIC_BASE_URL=https://portal.hospital.test",
		"REVOCATION_RESYNC_INTERVAL=1s",
	}
	a := testkit.StartService(t, consul, "user", bin, env...)
	b := testkit.StartService(t, consul, "user", bin, env...)
	consul.WaitPassing(t, "user", 2, 30*time.Second)

	db, err := mysqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var admins int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'ADMIN'`).Scan(&admins); err != nil {
		t.Fatal(err)
	}
	if admins != 1 {
		t.Fatalf("%d admins after two instances started", admins)
	}

	// Both instances sign with the one key from JWT_KEY_FILE: a token from
	// one verifies at the other.
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	post(t, a.URL+"/api/v1/users/login/", "", map[string]string{"username": "first-admin", "password": "Silver-Maple-Pass-1"}, http.StatusOK, &tokens)
	var me map[string]any
	get(t, b.URL+"/api/v1/users/me/", tokens.AccessToken, http.StatusOK, &me)
	if me["role"] != "ADMIN" || me["is_staff"] != true {
		t.Fatalf("bootstrap admin: %v", me)
	}
	if _, err := auth.LoadOrGenerateKey(keyFile, false); err != nil {
		t.Fatalf("signing key not persisted: %v", err)
	}

	var created map[string]any
	post(t, b.URL+"/api/v1/users/register/", "", map[string]string{
		"username": "proc.patient", "password": "Winter-Garden-77", "email": "proc.patient@patients.test",
	}, http.StatusCreated, &created)
	id := int64(created["id"].(float64))

	// No Notification service exists: the message stays pending and the
	// dispatcher keeps trying (attempts refused for want of an instance are
	// deferred, not counted).
	key := fmt.Sprintf("user-registered:%d", id)
	err = testkit.Until(context.Background(), 20*time.Second, nil, func(ctx context.Context) error {
		rec, err := outbox.Get(ctx, db, key)
		if err != nil {
			return err
		}
		if rec.Status != outbox.StatusPending || rec.LastAttemptAt == nil || rec.LastError == "" {
			return fmt.Errorf("message %s: status %s, %d attempts, last error %q", key, rec.Status, rec.Attempts, rec.LastError)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := outbox.Get(context.Background(), db, key)
	var payload struct {
		Data map[string]string `json:"data"`
	}
	_ = json.Unmarshal(rec.Body, &payload)
	if !strings.HasPrefix(payload.Data["confirmation_link"], "https://portal.hospital.test/api/v1/users/email/confirm/page/?token=") {
		t.Fatalf("confirmation link from PUBLIC_BASE_URL: %v", payload.Data)
	}

	// The internal client-credentials endpoint answers the configured client.
	var st struct {
		AccessToken string `json:"access_token"`
	}
	post(t, a.URL+"/api/v1/users/internal/service-token/", "", map[string]string{"service": "notification", "secret": "proc-secret"}, http.StatusOK, &st)
	get(t, b.URL+fmt.Sprintf("/api/v1/admin/users/%d/contact-info/", id), st.AccessToken, http.StatusOK, nil)

	// A logout reaches the other instance through Consul, under the prefix
	// every service follows; when Consul loses it, it is written back.
	var session struct {
		AccessToken string `json:"access_token"`
	}
	post(t, a.URL+"/api/v1/users/login/", "", map[string]string{"username": "proc.patient", "password": "Winter-Garden-77"}, http.StatusOK, &session)
	post(t, a.URL+"/api/v1/users/logout/", session.AccessToken, map[string]string{}, http.StatusNoContent, nil)
	refusedAt(t, b.URL, session.AccessToken)
	keys, _, err := consul.Client.KV().Keys(auth.DefaultRevocationPrefix, "", nil)
	if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0], auth.DefaultRevocationPrefix+"sessions/") {
		t.Fatalf("revocations in consul after a logout: %v (%v)", keys, err)
	}
	if _, err := consul.Client.KV().DeleteTree(auth.DefaultRevocationPrefix, nil); err != nil {
		t.Fatal(err)
	}
	err = testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		if pair, _, err := consul.Client.KV().Get(keys[0], nil); err != nil || pair == nil {
			return fmt.Errorf("%s not restored (%v)", keys[0], err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refusedAt(t, b.URL, session.AccessToken)
	if !strings.Contains(a.Tail(8<<20)+b.Tail(8<<20), "token revocations restored") {
		t.Fatal("the restore was not logged")
	}

	// SIGTERM takes the instance out of Consul.
	if err := a.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	consul.WaitPassing(t, "user", 1, 20*time.Second)
	countTables(t, db)

	// No secret reaches the logs.
	for _, p := range []*testkit.Service{a, b} {
		logs := p.Tail(8 << 20)
		if os.Getenv("USER_SHOW_LOGS") != "" {
			t.Log(logs)
		}
		for _, secret := range []string{"Silver-Maple-Pass-1", "Winter-Garden-77", "proc-secret", tokens.AccessToken, st.AccessToken, session.AccessToken} {
			if bytes.Contains([]byte(logs), []byte(secret)) {
				t.Fatalf("a secret (%.6s...) is in the logs of %s", secret, p.Name)
			}
		}
	}
}

// refusedAt waits until the instance at base refuses tok.
func refusedAt(t *testing.T, base, tok string) {
	t.Helper()
	want := http.StatusUnauthorized
	err := testkit.Until(context.Background(), 10*time.Second, nil, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/users/me/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != want {
			return fmt.Errorf("GET me/: %d, want %d", res.StatusCode, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countTables(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, table := range []string{"goose_db_version", "goose_outbox_version", "goose_idempotency_version"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil || n == 0 {
			t.Fatalf("migration history %s: %d rows, %v", table, n, err)
		}
	}
}

func post(t *testing.T, url, token string, body any, status int, out any) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	send(t, req, token, status, out)
}

func get(t *testing.T, url, token string, status int, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	send(t, req, token, status, out)
}

func send(t *testing.T, req *http.Request, token string, status int, out any) {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	if res.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.URL.Path, res.StatusCode, status, buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("decode %s: %v", buf.String(), err)
		}
	}
}
