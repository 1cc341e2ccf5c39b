package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"hospital/lib/api"
	"hospital/lib/httpx"
	"hospital/lib/routemeta"
	"hospital/lib/service"
	"hospital/svc/user/accounts"
)

// Handler serves the route table, the OpenAPI document and the two
// endpoints whose paths lib/svcclient fixed before route tables existed,
// which lib/api cannot declare: the JWKS (no trailing slash) and the
// client-credentials grant (an /internal/ path called before the caller
// holds any token). The gateway routes the first (see GatewayRoutes) and
// never the second.
func Handler(svc *accounts.Service, opts api.Options, info api.Info) (http.Handler, error) {
	routes := Routes(svc)
	h, err := api.Handler(routes, opts)
	if err != nil {
		return nil, err
	}
	doc, err := api.Document(info, routes)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+service.OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	})
	mux.Handle("POST "+PathServiceToken, httpx.LimitBody(opts.MaxBody)(httpx.Handle(handlers{svc: svc}.serviceToken)))
	mux.Handle("GET "+PathJWKS, httpx.Handle(handlers{svc: svc}.jwks))
	mux.Handle("/", h)
	return mux, nil
}

// GatewayRoutes is what the gateway is told to send here: the table's
// routes and the public JWKS.
func GatewayRoutes(routes []api.Route) []routemeta.Route {
	return append(api.GatewayRoutes(routes), routemeta.Route{
		Pattern: PathJWKS, Public: []string{http.MethodGet}, Timeout: api.DefaultTimeout,
	})
}
