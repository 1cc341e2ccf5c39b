package httpapi

import (
	"net/http"

	"hospital/lib/api"
	"hospital/svc/user/accounts"
)

// Handler serves the route table (what lib/service does in production; the
// tests serve it on their own server).
func Handler(svc *accounts.Service, opts api.Options) (http.Handler, error) {
	return api.Handler(Routes(svc), opts)
}
