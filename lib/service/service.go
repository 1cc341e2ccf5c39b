// Package service is the lifecycle every service shares: listen, log, serve
// the API (and its OpenAPI document) on one listener and health and metrics
// on a separate operator listener, register with the local Consul agent (and
// again if the agent forgets, but never while stopping), run background
// workers, and on SIGINT/SIGTERM deregister, drain and stop. The timers
// involved are explained in docs/RESILIENCE.md.
package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	consul "github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/config"
	"hospital/lib/discovery"
	"hospital/lib/health"
	"hospital/lib/routemeta"
	"hospital/lib/svcclient"
)

// Service is one running instance and the shared parts it is built from.
type Service struct {
	Name       string
	InstanceID string
	Addr       string // advertised host:port of the API
	// OpsAddr is the advertised host:port of the operator listener
	// (/metrics, /healthz/live, /healthz/ready).
	OpsAddr  string
	Log      *slog.Logger
	Registry *prometheus.Registry
	Consul   *consul.Client
	Resolver *discovery.Resolver
	Client   *svcclient.Client
	// Revocations follows the user service's token revocations in Consul
	// KV; every token check consults it.
	Revocations *auth.Revocations
	verifier    *auth.Verifier

	base      config.Base
	listener  net.Listener
	opsLn     net.Listener
	ctx       context.Context
	cancel    context.CancelFunc
	closeLogs func()
}

// New listens on base.HTTPAddr and base.OpsAddr (so the real ports are
// known), sets up logging, metrics, Consul, discovery and the inter-service
// client.
func New(name string, base config.Base) (*Service, error) {
	ln, err := net.Listen("tcp", base.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", base.HTTPAddr, err)
	}
	opsAddr := base.OpsAddr
	if opsAddr == "" {
		opsAddr = "127.0.0.1:0"
	}
	opsLn, err := net.Listen("tcp", opsAddr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen on %s (operator listener): %w", opsAddr, err)
	}
	addr := advertised(ln, base.AdvertiseHost)
	_, port, _ := net.SplitHostPort(addr)
	instance := fmt.Sprintf("%s-%s-%s", name, config.Hostname(), port)

	log, closeLogs := setupLogging(name, instance, base)

	ccfg := consul.DefaultConfig()
	ccfg.Address = base.ConsulAddr
	if base.ConsulToken != "" {
		ccfg.Token = base.ConsulToken
	}
	cc, err := consul.NewClient(ccfg)
	if err != nil {
		ln.Close()
		opsLn.Close()
		return nil, fmt.Errorf("consul client: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ctx, cancel := context.WithCancel(context.Background())
	res := discovery.New(ctx, cc, log)
	client := svcclient.New(name, res, svcclient.Options{Registerer: reg, Logger: log})
	if base.ServiceSecret != "" {
		client.SetTokenSource(svcclient.NewClientCredentials(client, name, base.ServiceSecret))
	}
	rev := auth.NewRevocations(cc, auth.RevocationOptions{Logger: log})
	go rev.Run(ctx)
	s := &Service{
		Name: name, InstanceID: instance, Addr: addr, OpsAddr: opsAdvertised(opsLn, base.AdvertiseHost),
		Log: log, Registry: reg, Consul: cc, Resolver: res, Client: client, Revocations: rev,
		verifier: auth.NewVerifier(auth.NewJWKSCache(client.FetchJWKS), auth.DefaultIssuer, auth.DefaultAudience,
			auth.WithCache(auth.DefaultCacheSize), auth.WithRevocations(rev)),
		base: base, listener: ln, opsLn: opsLn, ctx: ctx, cancel: cancel, closeLogs: closeLogs,
	}
	return s, nil
}

// advertised is the address others reach ln at: the advertised host if
// set, loopback for a wildcard listener.
func advertised(ln net.Listener, advertiseHost string) string {
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if advertiseHost != "" {
		host = advertiseHost
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// opsAdvertised is where the local Consul agent and Prometheus reach the
// operator listener: the address it is bound to (loopback by default, which
// the local agent reaches), or for a wildcard listener the advertised host.
func opsAdvertised(ln net.Listener, advertiseHost string) string {
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return advertised(ln, advertiseHost)
	}
	return ln.Addr().String()
}

// Context lives until the service stops.
func (s *Service) Context() context.Context { return s.ctx }

// Verifier checks tokens against the user service's JWKS, found through
// Consul, and against the revocations; a token's signature is checked once
// and cached until it expires.
func (s *Service) Verifier() *auth.Verifier { return s.verifier }

// Spec is what Run serves.
type Spec struct {
	// API is the service's routes (lib/api): the handler, the routes the
	// gateway is told about and the OpenAPI document (GET /openapi.json)
	// all come from it.
	API  []api.Route
	Info api.Info
	// Verifier checks bearer tokens; default: the user service's JWKS.
	Verifier api.TokenVerifier
	// StoreDown tells a database outage from other errors (503, not 500):
	// mysqldb.Unreachable or mongodb.Unreachable.
	StoreDown func(error) bool
	// Handler and Routes replace API for the gateway, which proxies rather
	// than declares routes.
	Handler    http.Handler
	Routes     []routemeta.Route
	Checks     map[string]health.Check
	Background []func(ctx context.Context)
}

// OpenAPIPath is where every service serves its OpenAPI document (to the
// gateway, which merges them; it is not routed from outside).
const OpenAPIPath = "/openapi.json"

// build turns the API into the handler, gateway routes and document.
func (s *Service) build(spec *Spec) error {
	if len(spec.API) == 0 {
		return nil
	}
	if spec.Verifier == nil {
		spec.Verifier = s.Verifier()
	}
	h, err := api.Handler(spec.API, api.Options{
		Verifier: spec.Verifier, MaxBody: s.base.MaxBodyBytes, PublicBaseURL: s.base.PublicBaseURL,
		StoreDown: spec.StoreDown,
	})
	if err != nil {
		return err
	}
	if spec.Info.Title == "" {
		spec.Info.Title = s.Name + " service"
	}
	doc, err := api.Document(spec.Info, spec.API)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode openapi document: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+OpenAPIPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(raw)
	})
	mux.Handle("/", h)
	spec.Handler = mux
	spec.Routes = api.GatewayRoutes(spec.API)
	return nil
}

// Main is a service's main: it runs run and, when it fails, prints the
// error under the service's name and exits 1, so the scheduler restarts it.
func Main(name string, run func() error) {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
