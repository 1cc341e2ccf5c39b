package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hospital/lib/outbox"
	"hospital/lib/testkit"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("trinhvann")
	e.register("taken")
	pair := e.login("trinhvann", goodPassword)
	tok := pair.AccessToken

	e.call("GET", httpapi.PathMe, "", nil).problem(http.StatusUnauthorized)
	e.call("PUT", httpapi.PathMe, "", obj{"first_name": "X"}).problem(http.StatusUnauthorized)

	var me accounts.User
	e.call("GET", httpapi.PathMe, tok, nil).want(http.StatusOK).decode(&me)
	if !sameJSON(me, u) {
		t.Fatalf("me %+v, registered %+v", me, u)
	}

	var upd accounts.User
	e.call("PUT", httpapi.PathMe, tok, obj{
		"first_name": "  Văn N ", "phone_number": "(090) 111-2222", "current_password": goodPassword,
		"profile_picture_url": "https://cdn.example/p/1.png",
	}).want(http.StatusOK).decode(&upd)
	if upd.FirstName != "Văn N" || upd.Email != u.Email || upd.LastName != u.LastName ||
		upd.PhoneNumber == nil || *upd.PhoneNumber != "0901112222" ||
		upd.ProfilePictureURL == nil || *upd.ProfilePictureURL != "https://cdn.example/p/1.png" {
		t.Fatalf("update gave %+v", upd)
	}

	// Fields a user may not change about themself.
	for field, v := range map[string]any{
		"role": "ADMIN", "role_name": "DOCTOR", "is_staff": true, "is_active": false,
		"username": "boss", "password": "New-Password-77",
	} {
		e.call("PUT", httpapi.PathMe, tok, obj{field: v, "first_name": "Changed"}).fieldError(field)
	}
	withPassword := func(field string, v any) obj { return obj{field: v, "current_password": goodPassword} }
	e.call("PUT", httpapi.PathMe, tok, obj{"id": 1}).fieldError("id")
	e.call("PUT", httpapi.PathMe, tok, withPassword("email", "taken@example.com")).fieldError("email")
	e.call("PUT", httpapi.PathMe, tok, obj{"email": ""}).fieldError("email")
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "nope"}).fieldError("email")
	e.call("PUT", httpapi.PathMe, tok, obj{"profile_picture_url": "javascript:alert(1)"}).fieldError("profile_picture_url")
	e.call("PUT", httpapi.PathMe, tok, withPassword("phone_number", "12")).fieldError("phone_number")
	e.call("PUT", httpapi.PathMe, tok, obj{"last_name": strings.Repeat("x", 151)}).fieldError("last_name")
	e.call("PUT", httpapi.PathMe, tok, `{"first_name": 7}`).fieldError("first_name")
	e.call("PUT", httpapi.PathMe, tok, obj{"language": "fr"}).fieldError("language")
	e.call("PUT", httpapi.PathMe, tok, obj{"push_token": strings.Repeat("p", 513)}).fieldError("push_token")
	// A stolen session is not enough to take the contact details over.
	e.call("PUT", httpapi.PathMe, tok, obj{"phone_number": "0909999999"}).fieldError("current_password")
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "thief@example.com"}).fieldError("current_password")
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "thief@example.com", "current_password": "Guess-Guess-1"}).fieldError("current_password")

	var after accounts.User
	e.call("GET", httpapi.PathMe, tok, nil).want(http.StatusOK).decode(&after)
	if !sameJSON(after, upd) {
		t.Fatalf("refused updates changed the account: %+v", after)
	}
	var role string
	_ = e.db.QueryRow(`SELECT r.name FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = ?`, u.ID).Scan(&role)
	if role != "PATIENT" || after.IsStaff {
		t.Fatalf("role %s is_staff %v after refused changes", role, after.IsStaff)
	}

	// Blank clears the optional fields.
	e.call("PUT", httpapi.PathMe, tok, obj{"phone_number": "", "profile_picture_url": "", "current_password": goodPassword}).
		want(http.StatusOK).decode(&after)
	if after.PhoneNumber != nil || after.ProfilePictureURL != nil {
		t.Fatalf("blank did not clear: %+v", after)
	}
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("caothio")
	pair := e.login("caothio", goodPassword)
	other := e.login("caothio", goodPassword)
	const newPassword = "Brand-New-Secret-8"

	e.call("POST", httpapi.PathPasswordChg, "", obj{"old_password": goodPassword, "new_password": newPassword}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathPasswordChg, pair.AccessToken, obj{"old_password": "Wrong-Old-1", "new_password": newPassword}).fieldError("old_password")
	e.call("POST", httpapi.PathPasswordChg, pair.AccessToken, obj{"old_password": goodPassword, "new_password": "short1"}).fieldError("new_password")
	e.call("POST", httpapi.PathPasswordChg, pair.AccessToken, obj{"old_password": goodPassword, "new_password": "caothio99"}).fieldError("new_password")
	e.login("caothio", goodPassword) // still the old password

	e.call("POST", httpapi.PathPasswordChg, pair.AccessToken, obj{"old_password": goodPassword, "new_password": newPassword}).want(http.StatusOK)
	e.call("POST", httpapi.PathLogin, "", obj{"username": "caothio", "password": goodPassword}).problem(http.StatusUnauthorized)
	e.login("caothio", newPassword)
	// Every session from before the change is over.
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": pair.RefreshToken}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": other.RefreshToken}).problem(http.StatusUnauthorized)
	// The owner is told, in case it was not them.
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'password-changed:%'
		AND body LIKE '%"PASSWORD_CHANGED"%'`); n != 1 {
		t.Fatalf("%d PASSWORD_CHANGED notices after one change", n)
	}
	assertNotLogged(t, newPassword, goodPassword)
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("maivanp")
	session := e.login("maivanp", goodPassword)

	unknown := e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "nobody@example.com"}).want(http.StatusOK)
	known := e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "MAIVANP@example.com"}).want(http.StatusOK)
	if string(known.Body) != string(unknown.Body) {
		t.Fatalf("known and unknown email answer differently:\n%s\n%s", known.Body, unknown.Body)
	}
	e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "not an email"}).fieldError("email")

	// Requests are handled in order after the answer: once the known one
	// is done, the unknown one was too.
	token := latestResetToken(t, e, u)
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'password-reset:%'`); n != 1 {
		t.Fatalf("%d reset notifications, want 1 (for the known email only)", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM password_reset_tokens WHERE token_hash = ?`, token); n != 0 {
		t.Fatal("reset tokens are stored in the clear")
	}

	const newPassword = "Fresh-Start-2025"
	confirm := func(tok, pw string) *resp {
		return e.call("POST", httpapi.PathResetConfirm, "", obj{"token": tok, "new_password": pw})
	}
	confirm("made-up-token", newPassword).fieldError("token")
	confirm(token, "maivanp1").fieldError("new_password") // refused, and the token is not spent
	confirm(token, newPassword).want(http.StatusOK)
	confirm(token, "Another-Pass-99").fieldError("token") // single use

	e.call("POST", httpapi.PathLogin, "", obj{"username": "maivanp", "password": goodPassword}).problem(http.StatusUnauthorized)
	e.login("maivanp", newPassword)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": session.RefreshToken}).problem(http.StatusUnauthorized)
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE ?`, "password-changed:"+itoa(u.ID)+":%"); n != 1 {
		t.Fatalf("%d PASSWORD_CHANGED notices after a reset", n)
	}

	// A link is good for one hour.
	e.clock.Advance(5 * time.Minute) // one reset email per 5 minutes
	e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "maivanp@example.com"}).want(http.StatusOK)
	later := waitNewResetToken(t, e, u, token)
	e.clock.Advance(61 * time.Minute)
	confirm(later, "Too-Late-Pass-11").fieldError("token")
	e.login("maivanp", newPassword)

	// An inactive account gets no link.
	if _, err := e.db.Exec(`UPDATE users SET is_active = 0 WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "maivanp@example.com"}).want(http.StatusOK)
	e.resetHandled(t)
	if n := e.count(`SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = ?`, u.ID); n != 2 {
		t.Fatalf("%d reset tokens; an inactive account got a new one", n)
	}
	assertNotLogged(t, token, later, newPassword)
}

// resetTokenFromOutbox checks the queued notification has the spec's payload
// and returns the raw token from its link.
func resetTokenFromOutbox(t *testing.T, e *env, resetID int64, u accounts.User) string {
	t.Helper()
	msg, err := outbox.Get(context.Background(), e.db, "password-reset:"+itoa(resetID))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Service != "notification" || msg.Path != "/api/v1/notifications/send/" || msg.Status != outbox.StatusPending {
		t.Fatalf("reset message %+v", msg)
	}
	var body struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(msg.Body, &body); err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(body.Data["reset_link"])
	if err != nil || link.Scheme+"://"+link.Host+link.Path != testBaseURL+"/api/v1/users/password/reset/page/" {
		t.Fatalf("reset link %q", body.Data["reset_link"])
	}
	token := link.Query().Get("token")
	if len(token) < 40 {
		t.Fatalf("reset token %q too short", token)
	}
	assertJSON(t, msg.Body, `{"notification_type":"PASSWORD_RESET_REQUESTED","recipient_id":`+itoa(u.ID)+
		`,"channel":"EMAIL","data":{"user_name":"`+u.Username+`","reset_link":"`+body.Data["reset_link"]+`"},"sensitive":true}`)
	return token
}

// resetHandled waits until the reset requests made so far were handled: it
// asks for a sentinel account's link and waits for it (requests are handled
// in order).
func (e *env) resetHandled(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("sentinel%d", time.Now().UnixNano())
	u := e.register(name)
	e.call("POST", httpapi.PathPasswordReset, "", obj{"email": name + "@example.com"}).want(http.StatusOK)
	latestResetToken(t, e, u)
}

// waitNewResetToken waits for a reset link to u other than previous.
func waitNewResetToken(t *testing.T, e *env, u accounts.User, previous string) string {
	t.Helper()
	var tok string
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(context.Context) error {
		if tok = latestResetToken(t, e, u); tok == previous {
			return fmt.Errorf("no new reset link yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// latestResetToken waits for the newest reset link sent to u and returns
// its token.
func latestResetToken(t *testing.T, e *env, u accounts.User) string {
	t.Helper()
	var id int64
	err := testkit.Until(context.Background(), 5*time.Second, nil, func(ctx context.Context) error {
		return e.db.QueryRowContext(ctx, `SELECT r.id FROM password_reset_tokens r JOIN outbox_messages o
			ON o.idempotency_key = CONCAT('password-reset:', r.id) WHERE r.user_id = ? ORDER BY r.id DESC LIMIT 1`, u.ID).Scan(&id)
	})
	if err != nil {
		t.Fatalf("no reset link for %s: %v", u.Username, err)
	}
	return resetTokenFromOutbox(t, e, id, u)
}

// A stranger cannot flood an inbox with reset links: one per 5 minutes and
// five a day per address, whatever the answers say.
func TestResetEmailsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("flooded")
	resets := func() int {
		return e.count(`SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = ?`, u.ID)
	}
	ask := func() {
		e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "flooded@example.com"}).want(http.StatusOK)
	}
	for range 3 {
		ask()
	}
	e.resetHandled(t)
	if n := resets(); n != 1 {
		t.Fatalf("%d links after three requests within a minute", n)
	}
	for range 6 {
		e.clock.Advance(5*time.Minute + time.Second)
		ask()
		e.resetHandled(t) // handled at this time, before the clock moves on
	}
	if n := resets(); n != 5 {
		t.Fatalf("%d links in a day, want 5", n)
	}
	e.clock.Advance(24 * time.Hour)
	ask()
	e.resetHandled(t)
	if n := resets(); n != 6 {
		t.Fatalf("%d links after a day, want 6", n)
	}
}
