package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/outbox"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
	"hospital/svc/user/store"
)

func TestRegisterCreatesPatient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := regBody("nguyenvana")
	body["phone_number"] = "+84 901-234-567"
	r := e.call("POST", httpapi.PathRegister, "", body).want(http.StatusCreated)

	var got map[string]any
	r.decode(&got)
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"date_joined", "date_of_birth", "email", "email_verified", "first_name", "id", "is_active", "is_staff",
		"language", "last_name", "pending_email", "phone_number", "profile_picture_url", "role", "sex", "username"}
	if !slices.Equal(keys, want) {
		t.Fatalf("user JSON has fields %v, want %v", keys, want)
	}
	var u accounts.User
	r.decode(&u)
	if u.Role != "PATIENT" || u.IsStaff || !u.IsActive || u.Username != "nguyenvana" || u.FirstName != "Văn A" {
		t.Fatalf("unexpected user %+v", u)
	}
	if u.PhoneNumber == nil || *u.PhoneNumber != "+84901234567" || u.ProfilePictureURL != nil {
		t.Fatalf("phone %v picture %v", u.PhoneNumber, u.ProfilePictureURL)
	}
	dj, _ := got["date_joined"].(string)
	if ts, err := time.Parse(time.RFC3339, dj); err != nil || !strings.HasSuffix(dj, "Z") || time.Since(ts) > time.Minute {
		t.Fatalf("date_joined %q is not a recent RFC 3339 UTC time (%v)", dj, err)
	}
	if strings.Contains(string(r.Body), goodPassword) || strings.Contains(string(r.Body), "argon2") {
		t.Fatalf("response leaks the password or its hash: %s", r.Body)
	}

	var stored string
	if err := e.db.QueryRow(`SELECT password FROM users WHERE id = ?`, u.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("password not stored as an argon2id hash with the required parameters: %.30s", stored)
	}

	// The welcome notification waits in the outbox (no Notification service
	// exists yet), with exactly the spec's payload.
	msg, err := outbox.Get(context.Background(), e.db, "user-registered:"+itoa(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Service != "notification" || msg.Path != "/api/v1/notifications/send/" || msg.Status != outbox.StatusPending {
		t.Fatalf("outbox message %+v", msg)
	}
	link := confirmationLink(t, e, "user-registered:"+itoa(u.ID))
	assertJSON(t, msg.Body, `{"notification_type":"USER_REGISTERED","recipient_id":`+itoa(u.ID)+
		`,"channel":"EMAIL","data":{"user_name":"nguyenvana","confirmation_link":"`+link+`"},"sensitive":true}`)
	if u.EmailVerified || u.Language != "vi" || u.PendingEmail != nil {
		t.Fatalf("new account %+v", u)
	}
	if e.kicks.Load() == 0 {
		t.Fatal("the outbox dispatcher was not kicked after the commit")
	}
	assertNotLogged(t, goodPassword, stored)
}

func TestRegisterRefusesOtherRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range []string{"DOCTOR", "ADMIN", "NURSE", "PHARMACIST", "INSURANCE_PROVIDER", "LAB_TECHNICIAN"} {
		body := regBody("x" + strings.ToLower(role))
		body["role_name"] = role
		e.call("POST", httpapi.PathRegister, "", body).problem(http.StatusForbidden)
	}
	body := regBody("chef")
	body["role_name"] = "CHEF"
	e.call("POST", httpapi.PathRegister, "", body).fieldError("role_name")

	body = regBody("explicit")
	body["role_name"] = "PATIENT"
	var u accounts.User
	e.call("POST", httpapi.PathRegister, "", body).want(http.StatusCreated).decode(&u)
	if u.Role != "PATIENT" {
		t.Fatalf("role %s", u.Role)
	}
	if n := e.rows("users"); n != 1 {
		t.Fatalf("%d users, want only the patient", n)
	}
}

func TestRegisterRejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := regBody("tranthib")
	first["phone_number"] = "0901234567"
	e.call("POST", httpapi.PathRegister, "", first).want(http.StatusCreated)
	usersBefore, outboxBefore := e.rows("users"), e.rows("outbox_messages")

	with := func(field string, v any) obj {
		b := regBody("newcomer")
		b[field] = v
		return b
	}
	cases := []struct {
		name  string
		body  any
		field string // expected per-field error; "" means any 400
	}{
		{"duplicate username", with("username", "tranthib"), "username"},
		{"duplicate username other case", with("username", "TranThiB"), "username"},
		{"duplicate email other case", with("email", "TRANTHIB@Example.COM"), "email"},
		{"duplicate phone other formatting", with("phone_number", "0901 234 567"), "phone_number"},
		{"short password", with("password", "Ab1!xyz"), "password"},
		{"numeric password", with("password", "8472910365"), "password"},
		{"common password", with("password", "password123"), "password"},
		{"the hospital's name", with("password", "hospital2024"), "password"},
		{"one letter repeated", with("password", "aaaaaaaa"), "password"},
		{"eight spaces", with("password", "        "), "password"},
		{"a run of letters", with("password", "abcdefgh"), "password"},
		{"password like username", with("password", "newcomer1"), "password"},
		{"missing password", with("password", ""), "password"},
		{"bad email", with("email", "not-an-email"), "email"},
		{"long username", with("username", strings.Repeat("u", 151)), "username"},
		{"bad username characters", with("username", "two words"), "username"},
		{"long first name", with("first_name", strings.Repeat("n", 151)), "first_name"},
		{"bad phone", with("phone_number", "call me"), "phone_number"},
		{"long phone", with("phone_number", strings.Repeat("1", 21)), "phone_number"},
		{"wrong type", with("username", 12345), "username"},
		{"wrong type bool", with("email", true), "email"},
		{"unknown field", with("is_staff", true), "is_staff"},
		{"malformed JSON", `{"username": "newcomer", "password":`, ""},
		{"not an object", `["newcomer"]`, ""},
		{"two objects", `{"username":"a"} {"username":"b"}`, ""},
		{"empty body", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", httpapi.PathRegister, "", c.body)
			r.t = t
			if c.field != "" {
				r.fieldError(c.field)
			} else {
				r.problem(http.StatusBadRequest)
			}
		})
	}

	big := `{"username":"newcomer","password":"` + strings.Repeat("x", 2<<20) + `"}`
	e.call("POST", httpapi.PathRegister, "", big).problem(http.StatusRequestEntityTooLarge)

	req := e.call("POST", httpapi.PathRegister, "", "username=newcomer", "Content-Type", "text/plain")
	req.problem(http.StatusUnsupportedMediaType)

	if u, o := e.rows("users"), e.rows("outbox_messages"); u != usersBefore || o != outboxBefore {
		t.Fatalf("bad input wrote rows: users %d→%d, outbox %d→%d", usersBefore, u, outboxBefore, o)
	}
}

func TestRegisterIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := "register-7f1c2a9e"
	var first, again accounts.User
	e.call("POST", httpapi.PathRegister, "", regBody("lethic"), "Idempotency-Key", key).want(http.StatusCreated).decode(&first)
	e.call("POST", httpapi.PathRegister, "", regBody("lethic"), "Idempotency-Key", key).want(http.StatusCreated).decode(&again)
	if first.ID == 0 || !sameJSON(first, again) {
		t.Fatalf("replay answered %+v, first %+v", again, first)
	}
	if n := e.count(`SELECT COUNT(*) FROM users WHERE username = 'lethic'`); n != 1 {
		t.Fatalf("%d rows for one idempotent registration", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'notification'`); n != 1 {
		t.Fatalf("%d notifications for one registration", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin' AND body LIKE '%"user.account.create"%'`); n != 1 {
		t.Fatalf("%d audit events for one registration", n)
	}

	// The same key for a different registration is refused.
	e.call("POST", httpapi.PathRegister, "", regBody("someoneelse"), "Idempotency-Key", key).problem(http.StatusUnprocessableEntity)

	// Concurrent retries of one request make one user.
	key2 := "register-concurrent-1"
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[int64]int{}
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call("POST", httpapi.PathRegister, "", regBody("phamvand"), "Idempotency-Key", key2)
			if r.Status != http.StatusCreated {
				t.Errorf("concurrent replay: %d %s", r.Status, r.Body)
				return
			}
			var u accounts.User
			r.decode(&u)
			mu.Lock()
			ids[u.ID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("concurrent replays answered different users: %v", ids)
	}
	if n := e.count(`SELECT COUNT(*) FROM users WHERE username = 'phamvand'`); n != 1 {
		t.Fatalf("%d rows for concurrent idempotent registrations", n)
	}
}

func TestSchemaAndSeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var roles []string
	rows, err := e.db.Query(`SELECT name FROM roles ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		roles = append(roles, n)
	}
	rows.Close()
	if !slices.Equal(roles, accounts.Roles) {
		t.Fatalf("roles %v, want %v", roles, accounts.Roles)
	}
	if n := e.count(`SELECT COUNT(*) FROM roles r WHERE NOT EXISTS
		(SELECT 1 FROM role_permissions rp WHERE rp.role_id = r.id)`); n != 0 {
		t.Fatalf("%d roles without permissions", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM role_permissions rp JOIN roles r ON r.id = rp.role_id
		JOIN permissions p ON p.id = rp.permission_id WHERE r.name = 'PATIENT' AND p.codename = 'can_manage_users'`); n != 0 {
		t.Fatal("patients must not hold can_manage_users")
	}
	if n := e.count(`SELECT COUNT(*) FROM goose_db_version WHERE version_id = 2 AND is_applied = 1`); n != 1 {
		t.Fatal("user migrations are not tracked in goose_db_version")
	}
	// Migrating again is a no-op.
	if err := store.Migrate(context.Background(), e.db); err != nil {
		t.Fatal(err)
	}
	// users.role_id is PROTECT: a role in use cannot be deleted.
	e.register("protectme")
	if _, err := e.db.Exec(`DELETE FROM roles WHERE name = 'PATIENT'`); err == nil {
		t.Fatal("deleting a role that users hold succeeded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// assertJSON compares two JSON documents semantically.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("bad JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("JSON differs:\n got %s\nwant %s", gb, wb)
	}
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
