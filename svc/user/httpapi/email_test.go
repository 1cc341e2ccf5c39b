package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"hospital/lib/outbox"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

// outboxData returns the data of the notification queued under key.
func outboxData(t *testing.T, e *env, key string) (map[string]string, bool) {
	t.Helper()
	msg, err := outbox.Get(context.Background(), e.db, key)
	if err != nil {
		t.Fatalf("outbox %s: %v", key, err)
	}
	var body struct {
		Data             map[string]string `json:"data"`
		Sensitive        bool              `json:"sensitive"`
		RecipientContact *struct {
			Email string `json:"email"`
		} `json:"recipient_contact"`
	}
	if err := json.Unmarshal(msg.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.RecipientContact != nil {
		body.Data["(to)"] = body.RecipientContact.Email
	}
	return body.Data, body.Sensitive
}

// confirmationLink is the link of the notification queued under key; it
// must open the confirmation page.
func confirmationLink(t *testing.T, e *env, key string) string {
	t.Helper()
	data, sensitive := outboxData(t, e, key)
	link := data["confirmation_link"]
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != testBaseURL+httpapi.PathEmailPage || len(u.Query().Get("token")) < 40 {
		t.Fatalf("confirmation link %q", link)
	}
	if !sensitive {
		t.Fatalf("%s carries a token but is not sensitive", key)
	}
	return link
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func TestRegistrationLinkConfirmsTheEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("confirm.me")
	tok := e.login("confirm.me", goodPassword).AccessToken
	token := tokenOf(t, confirmationLink(t, e, "user-registered:"+itoa(u.ID)))

	// What the page does: open, then post the token from its address.
	e.call("GET", httpapi.PathEmailPage+"?token="+token, "", nil).want(http.StatusOK)
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": "made-up"}).fieldError("token")
	var out accounts.EmailConfirmed
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": token}).want(http.StatusOK).decode(&out)
	if out.Email != "confirm.me@example.com" {
		t.Fatalf("confirmed %+v", out)
	}
	var me accounts.User
	e.call("GET", httpapi.PathMe, tok, nil).want(http.StatusOK).decode(&me)
	if !me.EmailVerified {
		t.Fatal("email_verified is still false")
	}
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": token}).fieldError("token") // single use
	assertNotLogged(t, token)
}

func TestEmailChangeWaitsForTheLinkAndTellsTheOldAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("mover")
	e.register("squatter")
	tok := e.login("mover", goodPassword).AccessToken
	verify := tokenOf(t, confirmationLink(t, e, "user-registered:"+itoa(u.ID)))

	var me accounts.User
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "first.new@example.com", "current_password": goodPassword}).
		want(http.StatusOK).decode(&me)
	if me.Email != "mover@example.com" || me.PendingEmail == nil || *me.PendingEmail != "first.new@example.com" {
		t.Fatalf("before the link: %+v", me)
	}
	first := e.count(`SELECT MAX(id) FROM email_tokens WHERE purpose = 'CHANGE'`)
	firstLink := confirmationLink(t, e, "email-change-requested:"+itoa(int64(first)))
	// A second request replaces the first: its link no longer works.
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "Second.New@EXAMPLE.com", "current_password": goodPassword}).want(http.StatusOK)
	second := e.count(`SELECT MAX(id) FROM email_tokens WHERE purpose = 'CHANGE'`)
	data, sensitive := outboxData(t, e, "email-change-requested:"+itoa(int64(second)))
	if data["new_email"] != "Second.New@example.com" || data["(to)"] != "Second.New@example.com" || data["user_name"] != "mover" || !sensitive {
		t.Fatalf("change request %v sensitive=%v", data, sensitive)
	}
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": tokenOf(t, firstLink)}).fieldError("token")

	// Someone else takes the address meanwhile: the link cannot steal it.
	squat := e.login("squatter", goodPassword).AccessToken
	e.call("PUT", httpapi.PathMe, squat, obj{"email": "Second.New@example.com", "current_password": goodPassword}).want(http.StatusOK)

	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": tokenOf(t, data["confirmation_link"])}).want(http.StatusOK)
	e.call("GET", httpapi.PathMe, tok, nil).want(http.StatusOK).decode(&me)
	if me.Email != "Second.New@example.com" || !me.EmailVerified || me.PendingEmail != nil {
		t.Fatalf("after the link: %+v", me)
	}
	changed, _ := outboxData(t, e, "email-changed:"+itoa(int64(second)))
	if changed["old_email"] != "mover@example.com" || changed["(to)"] != "mover@example.com" || changed["new_email"] != "Second.New@example.com" {
		t.Fatalf("old address told %v", changed)
	}
	// The old address's verification link is worthless now.
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": verify}).fieldError("token")
	// The squatter's pending link now meets a taken address.
	squatLink := confirmationLink(t, e, "email-change-requested:"+itoa(int64(e.count(`SELECT MAX(id) FROM email_tokens`))))
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": tokenOf(t, squatLink)}).fieldError("email")

	// Links expire after a day.
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "third@example.com", "current_password": goodPassword}).want(http.StatusOK)
	late := confirmationLink(t, e, "email-change-requested:"+itoa(int64(e.count(`SELECT MAX(id) FROM email_tokens`))))
	e.clock.Advance(25 * time.Hour)
	e.call("POST", httpapi.PathEmailConfirm, "", obj{"token": tokenOf(t, late)}).fieldError("token")
	// Asking for the current address cancels what is pending.
	e.call("PUT", httpapi.PathMe, tok, obj{"email": "second.new@example.com"}).want(http.StatusOK).decode(&me)
	if me.PendingEmail != nil || me.Email != "Second.New@example.com" {
		t.Fatalf("cancel: %+v", me)
	}
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func TestLinkPagesAreSelfContained(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{httpapi.PathResetPage, httpapi.PathEmailPage} {
		r := e.call("GET", path+"?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "", nil).want(http.StatusOK)
		body := string(r.Body)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: content type %q", path, ct)
		}
		csp := r.Header.Get("Content-Security-Policy")
		m := inlineScript.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s has no script", path)
		}
		sum := sha256.Sum256([]byte(m[1]))
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
			!strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("%s: CSP %q does not pin its own script", path, csp)
		}
		if r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: headers %v", path, r.Header)
		}
		// Nothing from elsewhere, and no request input in the page.
		for _, bad := range []string{"http://", "https://", "//cdn", "alert(1)", "<link", "src="} {
			if strings.Contains(body, bad) {
				t.Fatalf("%s contains %q", path, bad)
			}
		}
	}
	// The reset page posts where the confirm endpoint is.
	if !strings.Contains(string(e.call("GET", httpapi.PathResetPage, "", nil).Body), `fetch("`+httpapi.PathResetConfirm+`"`) {
		t.Fatal("the reset page does not post to the confirm endpoint")
	}
}
