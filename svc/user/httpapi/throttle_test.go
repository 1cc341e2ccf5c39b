package httpapi_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

// loginFrom signs in as the client at ip (the address the gateway reports).
func (e *env) loginFrom(ip, username, password string) *resp {
	e.t.Helper()
	return e.call("POST", httpapi.PathLogin, "", obj{"username": username, "password": password}, "X-Client-IP", ip)
}

func retryAfter(t *testing.T, r *resp) int {
	t.Helper()
	r.problem(http.StatusTooManyRequests)
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return n
}

const (
	attacker = "203.0.113.9"
	owner    = "198.51.100.7"
)

func TestOneSourceCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register("vuthif")
	for range 5 {
		e.loginFrom(attacker, "vuthif", "Not-It-123").problem(http.StatusUnauthorized)
	}
	// That client is done with this account for 15 minutes, even with the
	// right password, and whatever the case of the username...
	if s := retryAfter(t, e.loginFrom(attacker, "VuThiF", goodPassword)); s < 890 || s > 901 {
		t.Fatalf("Retry-After %d, want about 900", s)
	}
	// ...but the owner, elsewhere, signs in.
	e.loginFrom(owner, "vuthif", goodPassword).want(http.StatusOK)
	e.clock.Advance(15*time.Minute + time.Second)
	e.loginFrom(attacker, "vuthif", goodPassword).want(http.StatusOK)

	// IPv6 clients count per /64: one host holds the whole prefix.
	for i := range 5 {
		e.loginFrom("2001:db8:1:2::"+strconv.Itoa(i+1), "vuthif", "Not-It-123").problem(http.StatusUnauthorized)
	}
	e.loginFrom("2001:db8:1:2:ffff::9", "vuthif", goodPassword).problem(http.StatusTooManyRequests)
	e.loginFrom("2001:db8:1:3::1", "vuthif", goodPassword).want(http.StatusOK)

	// Unknown usernames are throttled the same, so a refusal reveals nothing.
	for range 5 {
		e.loginFrom(attacker, "ghost", "Not-It-123").problem(http.StatusUnauthorized)
	}
	e.loginFrom(attacker, "ghost", "Not-It-123").problem(http.StatusTooManyRequests)

	// Parallel guesses from one client get five passwords checked, no more.
	e.register("parallel")
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.loginFrom("192.0.2.50", "parallel", "Guess-Guess-1")
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != 5 || statuses[http.StatusTooManyRequests] != 5 {
		t.Fatalf("10 parallel guesses answered %v, want 5×401 and 5×429", statuses)
	}
}

func TestManySourcesAreSlowedAndTheOwnerToldAndAdminUnlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.admin()
	u := e.register("target")
	targetTok := e.login("target", goodPassword).AccessToken
	// A botnet: ten addresses, one guess each; no single client is blocked.
	for i := range 10 {
		e.loginFrom("10.0.0."+strconv.Itoa(i+1), "target", "Guess-Guess-1").problem(http.StatusUnauthorized)
	}
	// The account now waits between attempts, from anywhere: 1 s, then 2 s, ...
	if s := retryAfter(t, e.loginFrom("10.0.1.1", "target", "Guess-Guess-1")); s < 1 || s > 2 {
		t.Fatalf("first delay %d s", s)
	}
	e.clock.Advance(1100 * time.Millisecond)
	e.loginFrom("10.0.1.1", "target", "Guess-Guess-1").problem(http.StatusUnauthorized)
	if s := retryAfter(t, e.loginFrom(owner, "target", goodPassword)); s < 2 || s > 3 {
		t.Fatalf("second delay %d s", s)
	}
	// The delay doubles up to five minutes.
	for i := range 12 {
		e.clock.Advance(5 * time.Minute)
		e.loginFrom("10.0.2."+strconv.Itoa(i+1), "target", "Guess-Guess-1").problem(http.StatusUnauthorized)
	}
	if s := retryAfter(t, e.loginFrom(owner, "target", goodPassword)); s < 299 || s > 301 {
		t.Fatalf("capped delay %d s", s)
	}
	// The owner was told once, when it started.
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE ? AND body LIKE '%"ACCOUNT_LOCKED"%'`,
		"account-locked:"+itoa(u.ID)+":%"); n != 1 {
		t.Fatalf("%d ACCOUNT_LOCKED notices", n)
	}
	// An ADMIN clears it; the owner signs in at once.
	e.call("POST", path("%s%d/unlock/", httpapi.PathAdminUsers, u.ID), targetTok, nil).problem(http.StatusForbidden)
	var got accounts.User
	e.call("POST", path("%s%d/unlock/", httpapi.PathAdminUsers, u.ID), admin.AccessToken, nil).want(http.StatusOK).decode(&got)
	if got.ID != u.ID {
		t.Fatalf("unlock answered %+v", got)
	}
	e.loginFrom(owner, "target", goodPassword).want(http.StatusOK)
	e.call("POST", path("%s%d/unlock/", httpapi.PathAdminUsers, 999999), admin.AccessToken, nil).problem(http.StatusNotFound)
}

func TestPasswordSprayingFromOneClientIsStopped(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(o *accounts.Options) {
		o.Throttle = accounts.DefaultThrottle
		o.Throttle.ClientMaxFailures = 6
	})
	e.register("victim")
	for i := range 6 {
		e.loginFrom(attacker, "user"+strconv.Itoa(i), "Spring-2026!").problem(http.StatusUnauthorized)
	}
	e.loginFrom(attacker, "victim", "Spring-2026!").problem(http.StatusTooManyRequests)
	e.loginFrom(owner, "victim", goodPassword).want(http.StatusOK)
}

func TestServiceCredentialsAreThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokenFrom := func(ip, secret string) *resp {
		return e.call("POST", httpapi.PathServiceToken, "", obj{"service": "billing", "secret": secret}, "X-Client-IP", ip)
	}
	for range 5 {
		tokenFrom(attacker, "guessed-secret").problem(http.StatusUnauthorized)
	}
	tokenFrom(attacker, testServiceSecret).problem(http.StatusTooManyRequests)
	tokenFrom("10.1.2.3", testServiceSecret).want(http.StatusOK)
}
