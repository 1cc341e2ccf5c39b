package httpapi_test

import (
	"net/http"
	"testing"

	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

// Every way an account's access ends reaches other services within seconds,
// not when the 15-minute access token expires.
func TestRevocationEndsAccessEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.admin()
	body := regBody("dr.revoke")
	body["role_name"] = "DOCTOR"
	var doctor accounts.User
	e.call("POST", httpapi.PathAdminUsers, admin.AccessToken, body).want(http.StatusCreated).decode(&doctor)

	t.Run("deactivation", func(t *testing.T) {
		pair := e.login("dr.revoke", goodPassword)
		e.acceptedByPeer(pair.AccessToken)
		e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, doctor.ID), admin.AccessToken, nil).want(http.StatusOK)
		e.refusedByPeer(pair.AccessToken)
		// Active again, a new sign-in works everywhere; the old token stays dead.
		e.call("POST", path("%s%d/activate/", httpapi.PathAdminUsers, doctor.ID), admin.AccessToken, nil).want(http.StatusOK)
		again := e.login("dr.revoke", goodPassword)
		e.acceptedByPeer(again.AccessToken)
		e.refusedByPeer(pair.AccessToken)
	})

	t.Run("password change", func(t *testing.T) {
		a, b := e.login("dr.revoke", goodPassword), e.login("dr.revoke", goodPassword)
		e.call("POST", httpapi.PathPasswordChg, a.AccessToken, obj{"old_password": goodPassword, "new_password": "Second-Secret-77"}).want(http.StatusOK)
		e.refusedByPeer(a.AccessToken)
		e.refusedByPeer(b.AccessToken)
		e.acceptedByPeer(e.login("dr.revoke", "Second-Secret-77").AccessToken)
	})

	t.Run("refresh token reuse", func(t *testing.T) {
		stolen := e.login("dr.revoke", "Second-Secret-77")
		other := e.login("dr.revoke", "Second-Secret-77")
		var next accounts.TokenPair
		e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": stolen.RefreshToken}).want(http.StatusOK).decode(&next)
		// The thief replays the spent token: that session ends everywhere,
		// the old access token and the new one alike.
		e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": stolen.RefreshToken}).problem(http.StatusUnauthorized)
		e.refusedByPeer(stolen.AccessToken)
		e.refusedByPeer(next.AccessToken)
		e.acceptedByPeer(other.AccessToken)
	})

	t.Run("password reset", func(t *testing.T) {
		pair := e.login("dr.revoke", "Second-Secret-77")
		e.call("POST", httpapi.PathPasswordReset, "", obj{"email": "dr.revoke@example.com"}).want(http.StatusOK)
		token := latestResetToken(t, e, doctor)
		e.call("POST", httpapi.PathResetConfirm, "", obj{"token": token, "new_password": "Third-Secret-99"}).want(http.StatusOK)
		e.refusedByPeer(pair.AccessToken)
	})

	if n := e.count(`SELECT COUNT(*) FROM token_revocations WHERE published_at IS NULL`); n != 0 {
		t.Fatalf("%d revocations left unpublished", n)
	}
}
