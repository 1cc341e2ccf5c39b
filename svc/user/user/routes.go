package user

import (
	"net/http"
	"time"

	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/routemeta"
	"hospital/lib/svcclient"
)

// Paths of the user service (spec section 1, plus the admin and internal
// endpoints other services call).
const (
	PathRegister      = "/api/v1/users/register/"
	PathLogin         = "/api/v1/users/login/"
	PathLogout        = "/api/v1/users/logout/"
	PathRefresh       = "/api/v1/users/token/refresh/"
	PathVerify        = "/api/v1/users/token/verify/"
	PathMe            = "/api/v1/users/me/"
	PathPasswordChg   = "/api/v1/users/password/change/"
	PathPasswordReset = "/api/v1/users/password/reset/"
	PathResetConfirm  = "/api/v1/users/password/reset/confirm/"
	PathJWKS          = svcclient.JWKSPath
	PathServiceToken  = svcclient.ServiceTokenPath
	PathAdminUsers    = "/api/v1/admin/users/"
)

const routeTimeout = 10 * time.Second

// GatewayRoutes is what the gateway is told to send here, and which of it
// needs no token. The /internal/ paths are never reachable from outside.
func GatewayRoutes() []routemeta.Route {
	post := []string{http.MethodPost}
	return []routemeta.Route{
		{Pattern: PathRegister, Public: post, Timeout: routeTimeout},
		{Pattern: PathLogin, Public: post, Timeout: routeTimeout},
		{Pattern: PathRefresh, Public: post, Timeout: routeTimeout},
		{Pattern: PathVerify, Public: post, Timeout: routeTimeout},
		{Pattern: PathPasswordReset, Public: post, Timeout: routeTimeout},
		{Pattern: PathResetConfirm, Public: post, Timeout: routeTimeout},
		{Pattern: PathJWKS, Public: []string{http.MethodGet}, Timeout: routeTimeout},
		{Pattern: "/api/v1/users/*", Timeout: routeTimeout},
		{Pattern: "/api/v1/admin/users/*", Timeout: routeTimeout},
	}
}

// Router serves every endpoint of the service. Tokens are verified against
// the service's own key; each handler (through the Service) decides who may
// call it.
func Router(svc *Service) http.Handler {
	h := NewHandlers(svc)
	r := httpx.NewRouter(auth.Middleware(svc.Verifier()))
	handle := func(path string, fn httpx.HandlerFunc, methods ...string) { httpx.Route(r, path, fn, methods...) }

	handle(PathRegister, h.register, http.MethodPost)
	handle(PathLogin, h.login, http.MethodPost)
	handle(PathLogout, h.logout, http.MethodPost)
	handle(PathRefresh, h.refresh, http.MethodPost)
	handle(PathVerify, h.verify, http.MethodPost)
	handle(PathMe, h.getMe, http.MethodGet)
	handle(PathMe, h.putMe, http.MethodPut)
	handle(PathPasswordChg, h.changePassword, http.MethodPost)
	handle(PathPasswordReset, h.resetPassword, http.MethodPost)
	handle(PathResetConfirm, h.confirmReset, http.MethodPost)
	handle(PathJWKS, h.jwks, http.MethodGet)
	handle(PathServiceToken, h.serviceToken, http.MethodPost)

	handle(PathAdminUsers, h.adminListUsers, http.MethodGet)
	handle(PathAdminUsers, h.adminCreateUser, http.MethodPost)
	handle(PathAdminUsers+"{user_id}/", h.adminGetUser, http.MethodGet)
	handle(PathAdminUsers+"{user_id}/contact-info/", h.adminContactInfo, http.MethodGet)
	handle(PathAdminUsers+"{user_id}/deactivate/", h.adminSetActive(false), http.MethodPost)
	handle(PathAdminUsers+"{user_id}/activate/", h.adminSetActive(true), http.MethodPost)
	return r
}
