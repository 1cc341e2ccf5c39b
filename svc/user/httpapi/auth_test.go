package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"hospital/lib/auth"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("hoangvane")

	pair := e.login("hoangvane", goodPassword)
	id, err := e.svc.Verifier().Verify(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID != u.ID || id.Role != auth.RolePatient || id.Username != "hoangvane" || id.TokenID == "" {
		t.Fatalf("access token identity %+v", id)
	}
	other := e.login("hoangvane", goodPassword)
	if other.AccessToken == pair.AccessToken || other.RefreshToken == pair.RefreshToken {
		t.Fatal("two logins got the same tokens")
	}

	r := e.call("POST", httpapi.PathLogin, "", obj{"username": "hoangvane", "password": goodPassword})
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("tokens answered without Cache-Control: no-store")
	}
	var body map[string]any
	r.want(http.StatusOK).decode(&body)
	if len(body) != 2 || body["access_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("login answer %s, want exactly access_token and refresh_token", r.Body)
	}

	wrong := e.call("POST", httpapi.PathLogin, "", obj{"username": "hoangvane", "password": "Wrong-Pass-99"}).problem(http.StatusUnauthorized)
	unknown := e.call("POST", httpapi.PathLogin, "", obj{"username": "nobody", "password": "Wrong-Pass-99"}).problem(http.StatusUnauthorized)
	if wrong.Detail != unknown.Detail {
		t.Fatalf("wrong password and unknown user answer differently: %q vs %q", wrong.Detail, unknown.Detail)
	}
	e.call("POST", httpapi.PathLogin, "", obj{"username": "hoangvane"}).fieldError("password")
	e.call("POST", httpapi.PathLogin, "", obj{"username": "hoangvane", "password": 42}).fieldError("password")
	assertNotLogged(t, goodPassword, "Wrong-Pass-99", pair.AccessToken, pair.RefreshToken)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("dangvang")
	first := e.login("dangvang", goodPassword)
	otherSession := e.login("dangvang", goodPassword)

	refresh := func(tok string) *resp {
		return e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": tok})
	}
	var second, third accounts.TokenPair
	refresh(first.RefreshToken).want(http.StatusOK).decode(&second)
	if second.AccessToken == "" || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	id, err := e.svc.Verifier().Verify(context.Background(), second.AccessToken)
	if err != nil || id.UserID != u.ID {
		t.Fatalf("refreshed access token: %+v %v", id, err)
	}
	refresh(second.RefreshToken).want(http.StatusOK).decode(&third)

	// The first token was already rotated: presenting it again is theft.
	refresh(first.RefreshToken).problem(http.StatusUnauthorized)
	// ...and the whole family is gone, including the newest token.
	refresh(third.RefreshToken).problem(http.StatusUnauthorized)
	// Another session (another family) is untouched.
	refresh(otherSession.RefreshToken).want(http.StatusOK)

	refresh("not-a-token").problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathRefresh, "", obj{}).fieldError("refresh_token")

	// Refresh tokens live seven days.
	late := e.login("dangvang", goodPassword)
	e.clock.Advance(7*24*time.Hour + time.Second)
	refresh(late.RefreshToken).problem(http.StatusUnauthorized)

	// Housekeeping removes tokens a day after they expired.
	e.clock.Advance(25 * time.Hour)
	if err := e.svc.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.rows("refresh_tokens"); n != 0 {
		t.Fatalf("%d expired refresh tokens left after cleanup", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = ?`, first.RefreshToken); n != 0 {
		t.Fatal("refresh tokens are stored in the clear")
	}
	assertNotLogged(t, first.RefreshToken, second.RefreshToken, third.RefreshToken)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("buithih")
	e.register("dothik")
	mine := e.login("buithih", goodPassword)
	phone := e.login("buithih", goodPassword) // another session of the same user
	theirs := e.login("dothik", goodPassword)

	e.call("POST", httpapi.PathLogout, "", obj{"refresh_token": mine.RefreshToken}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathLogout, mine.AccessToken, `{"refresh_token": 7}`).fieldError("refresh_token")

	// An empty body (the spec makes logout optional for clients) ends the
	// session of the access token, here and at every other service.
	e.acceptedByPeer(mine.AccessToken)
	e.call("POST", httpapi.PathLogout, mine.AccessToken, nil).want(http.StatusNoContent)
	e.call("GET", httpapi.PathMe, mine.AccessToken, nil).problem(http.StatusUnauthorized)
	e.refusedByPeer(mine.AccessToken)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": mine.RefreshToken}).problem(http.StatusUnauthorized)
	// The other session goes on.
	e.acceptedByPeer(phone.AccessToken)
	e.call("GET", httpapi.PathMe, phone.AccessToken, nil).want(http.StatusOK)

	// Someone else's refresh token is not revoked by my logout.
	laptop := e.login("buithih", goodPassword)
	e.call("POST", httpapi.PathLogout, laptop.AccessToken, obj{"refresh_token": theirs.RefreshToken}).want(http.StatusNoContent)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": theirs.RefreshToken}).want(http.StatusOK)
	e.acceptedByPeer(theirs.AccessToken)

	// With my phone's refresh token, logging out from the laptop ends both.
	tablet := e.login("buithih", goodPassword)
	e.call("POST", httpapi.PathLogout, tablet.AccessToken, obj{"refresh_token": phone.RefreshToken}).want(http.StatusNoContent)
	e.refusedByPeer(phone.AccessToken)
	e.refusedByPeer(tablet.AccessToken)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": phone.RefreshToken}).problem(http.StatusUnauthorized)
	// Logging out twice is harmless: the token is refused already.
	e.call("POST", httpapi.PathLogout, tablet.AccessToken, nil).problem(http.StatusUnauthorized)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("ngothil")
	pair := e.login("ngothil", goodPassword)
	verify := func(tok string) *resp { return e.call("POST", httpapi.PathVerify, "", obj{"token": tok}) }

	var got accounts.User
	verify(pair.AccessToken).want(http.StatusOK).decode(&got)
	if got.ID != u.ID || got.Username != "ngothil" || got.Role != "PATIENT" {
		t.Fatalf("verify answered %+v", got)
	}

	expired, err := e.signer.Sign(auth.Identity{UserID: u.ID, Role: "PATIENT"}, -time.Hour, "old")
	if err != nil {
		t.Fatal(err)
	}
	verify(expired).problem(http.StatusUnauthorized)

	// Tampered: the payload now claims ADMIN, the signature is the old one.
	parts := strings.Split(pair.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"PATIENT"`, `"ADMIN"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	verify(strings.Join(parts, ".")).problem(http.StatusUnauthorized)

	// Signed by a key that is not ours.
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	foreign, _ := auth.NewSigner(otherKey, auth.DefaultIssuer, auth.DefaultAudience).Sign(auth.Identity{UserID: u.ID, Role: "PATIENT"}, time.Hour, "x")
	verify(foreign).problem(http.StatusUnauthorized)

	verify("garbage").problem(http.StatusUnauthorized)
	verify(e.serviceToken()).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathVerify, "", obj{}).fieldError("token")

	// A deactivated user's still-unexpired token no longer verifies.
	if _, err := e.db.Exec(`UPDATE users SET is_active = 0 WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	verify(pair.AccessToken).problem(http.StatusUnauthorized)
	// Nor does it open the service's own endpoints.
	e.call("GET", httpapi.PathMe, pair.AccessToken, nil).problem(http.StatusUnauthorized)
	// A token the service cannot read is refused before any handler runs.
	e.call("GET", httpapi.PathMe, foreign, nil).problem(http.StatusUnauthorized)
}

func TestServiceTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", httpapi.PathServiceToken, "", obj{"service": "billing", "secret": testServiceSecret}).want(http.StatusOK)
	var out accounts.ServiceTokenResponse
	r.decode(&out)
	if out.TokenType != "Bearer" || out.ExpiresIn != 600 || out.AccessToken == "" {
		t.Fatalf("service token answer %s", r.Body)
	}
	id, err := e.svc.Verifier().Verify(context.Background(), out.AccessToken)
	if err != nil || !id.IsService() || id.Service != "billing" || id.Role != auth.RoleService {
		t.Fatalf("service token identity %+v %v", id, err)
	}
	// The second configured client, parsed with spaces around it.
	e.call("POST", httpapi.PathServiceToken, "", obj{"service": "notification", "secret": "notif-secret"}).want(http.StatusOK)

	e.call("POST", httpapi.PathServiceToken, "", obj{"service": "billing", "secret": "billing-secret"}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathServiceToken, "", obj{"service": "pharmacy", "secret": testServiceSecret}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathServiceToken, "", obj{"service": "billing"}).fieldError("secret")

	// A service token is not a user: user endpoints refuse it.
	e.call("GET", httpapi.PathMe, out.AccessToken, nil).problem(http.StatusForbidden)
	assertNotLogged(t, testServiceSecret, out.AccessToken)

	// The user service signs its own service token for outgoing calls.
	self := auth.NewSignerTokens(e.signer, "user", 10*time.Minute)
	tok, err := self.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := self.Token(context.Background())
	if again != tok {
		t.Fatal("self token not cached")
	}
	id, err = e.svc.Verifier().Verify(context.Background(), tok)
	if err != nil || !id.IsService() || id.Service != "user" {
		t.Fatalf("self token identity %+v %v", id, err)
	}
}

func TestParseServiceClients(t *testing.T) {
	c, err := accounts.ParseServiceClients(" a=x==, b = y ,")
	if err != nil || len(c) != 2 || c["a"] != "x==" || c["b"] != "y" {
		t.Fatalf("parsed %v, %v", c, err)
	}
	for _, bad := range []string{"a", "=x", "a="} {
		if _, err := accounts.ParseServiceClients(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestJWKSAndRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", httpapi.PathJWKS, "", nil).want(http.StatusOK)
	if !strings.Contains(r.Header.Get("Cache-Control"), "max-age") {
		t.Fatal("JWKS not cacheable")
	}
	keys, err := auth.ParseJWKS(r.Body)
	if err != nil || len(keys) != 1 {
		t.Fatalf("jwks %s: %v", r.Body, err)
	}
	e.register("lyvanm")
	pair := e.login("lyvanm", goodPassword)
	v := auth.NewVerifier(auth.StaticKeys(keys), auth.DefaultIssuer, auth.DefaultAudience)
	if _, err := v.Verify(context.Background(), pair.AccessToken); err != nil {
		t.Fatalf("a token does not verify against the published JWKS: %v", err)
	}

	e.call("GET", httpapi.PathLogin, "", nil).problem(http.StatusMethodNotAllowed)
	e.call("GET", "/api/v1/users/nothing-here/", "", nil).problem(http.StatusNotFound)
	e.call("GET", httpapi.PathAdminUsers+"abc/", pair.AccessToken, nil).problem(http.StatusNotFound)
}

// A hash with outdated parameters is replaced at login. When storing the
// new hash fails, the login still succeeds (the password was right) but the
// failure is logged, not dropped: the account keeps its weaker hash and
// operators must be able to see why.
func TestLoginRehashFailureIsLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("rehash.fail")
	weak, err := argon2id.CreateHash(goodPassword, &argon2id.Params{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`UPDATE users SET password = ? WHERE id = ?`, weak, u.ID); err != nil {
		t.Fatal(err)
	}
	// The database refuses any further password change of this account.
	if _, err := e.db.Exec(`CREATE TRIGGER refuse_rehash BEFORE UPDATE ON users FOR EACH ROW
		BEGIN IF NEW.password <> OLD.password THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'rehash refused'; END IF; END`); err != nil {
		t.Fatal(err)
	}
	e.login("rehash.fail", goodPassword)
	var stored string
	if err := e.db.QueryRow(`SELECT password FROM users WHERE id = ?`, u.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != weak {
		t.Fatal("the trigger did not keep the old hash")
	}
	want := `"account_id":` + strconv.FormatInt(u.ID, 10)
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "rehash") && strings.Contains(line, want) && strings.Contains(line, "rehash refused") {
			return
		}
	}
	t.Fatal("the failed rehash was not logged with the account and the cause")
}
