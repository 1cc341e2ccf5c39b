package notification

import (
	"net/http"
	"time"

	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/routemeta"
)

// Paths of the notification service (spec section 7, plus the log detail,
// retry and type list an operator needs).
const (
	PathSend      = "/api/v1/notifications/send/"
	PathTemplates = "/api/v1/admin/notification-templates/"
	PathLogs      = "/api/v1/admin/notification-logs/"
	PathTypes     = "/api/v1/admin/notification-types/"
)

// GatewayRoutes is what the gateway is told to send here. Every route needs
// a token; the service decides who may do what (SERVICE or ADMIN on /send/,
// ADMIN on the admin endpoints).
func GatewayRoutes(sendTimeout time.Duration) []routemeta.Route {
	return []routemeta.Route{
		// An urgent send waits for the provider.
		{Pattern: PathSend, Timeout: sendTimeout + 10*time.Second},
		{Pattern: PathTemplates + "*", Timeout: 10 * time.Second},
		{Pattern: PathLogs + "*", Timeout: 15 * time.Second},
		{Pattern: PathTypes, Timeout: 10 * time.Second},
	}
}

// Router serves every endpoint of the service behind token verification.
func Router(svc *Service, verifier *auth.Verifier) http.Handler {
	h := NewHandlers(svc)
	r := httpx.NewRouter(auth.Middleware(verifier))
	handle := func(path string, fn httpx.HandlerFunc, methods ...string) { httpx.Route(r, path, fn, methods...) }

	handle(PathSend, h.send, http.MethodPost)

	handle(PathTemplates, h.listTemplates, http.MethodGet)
	handle(PathTemplates, h.createTemplate, http.MethodPost)
	handle(PathTemplates+"{template_id}/", h.getTemplate, http.MethodGet)
	handle(PathTemplates+"{template_id}/", h.updateTemplate, http.MethodPut)
	handle(PathTemplates+"{template_id}/", h.deleteTemplate, http.MethodDelete)

	handle(PathLogs, h.listLogs, http.MethodGet)
	handle(PathLogs+"{log_id}/", h.getLog, http.MethodGet)
	handle(PathLogs+"{log_id}/retry/", h.retryLog, http.MethodPost)

	handle(PathTypes, h.listTypes, http.MethodGet)
	return r
}
