// Package service is the lifecycle every service shares: listen, log, serve
// health and metrics, register with the local Consul agent (and again if the
// agent forgets), run background workers, and on SIGINT/SIGTERM deregister,
// drain and stop.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/config"
	"hospital/lib/discovery"
	"hospital/lib/health"
	"hospital/lib/middleware"
	"hospital/lib/routemeta"
	"hospital/lib/svcclient"
)

// Service is one running instance and the shared parts it is built from.
type Service struct {
	Name       string
	InstanceID string
	Addr       string // advertised host:port
	Log        *slog.Logger
	Registry   *prometheus.Registry
	Consul     *consul.Client
	Resolver   *discovery.Resolver
	Client     *svcclient.Client
	// Revocations follows the user service's token revocations in Consul
	// KV; every token check consults it.
	Revocations *auth.Revocations
	verifier    *auth.Verifier

	base      config.Base
	listener  net.Listener
	ctx       context.Context
	cancel    context.CancelFunc
	closeLogs func()
	checkIntv time.Duration
}

// New listens on base.HTTPAddr (so the real port is known), sets up logging,
// metrics, Consul, discovery and the inter-service client.
func New(name string, base config.Base) (*Service, error) {
	ln, err := net.Listen("tcp", base.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", base.HTTPAddr, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if base.AdvertiseHost != "" {
		host = base.AdvertiseHost
	} else if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
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
		Name: name, InstanceID: instance, Addr: addr, Log: log, Registry: reg,
		Consul: cc, Resolver: res, Client: client, Revocations: rev,
		verifier: auth.NewVerifier(auth.NewJWKSCache(client.FetchJWKS), auth.DefaultIssuer, auth.DefaultAudience,
			auth.WithCache(auth.DefaultCacheSize), auth.WithRevocations(rev)),
		base: base, listener: ln, ctx: ctx, cancel: cancel, closeLogs: closeLogs,
		checkIntv: base.ConsulCheckInterval,
	}
	return s, nil
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

// Run serves until SIGINT/SIGTERM or until ctx ends, then shuts down in
// order: deregister (no new traffic is sent here), drain in-flight requests,
// stop background workers.
func (s *Service) Run(ctx context.Context, spec Spec) error {
	defer s.closeLogs()
	defer s.cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if err := s.build(&spec); err != nil {
		return err
	}
	meta, err := routemeta.Encode(spec.Routes)
	if err != nil {
		return err
	}
	// Until the revocations are loaded no token can be told good from
	// revoked (every check answers 503), so the instance takes no traffic.
	checks := maps.Clone(spec.Checks)
	if checks == nil {
		checks = map[string]health.Check{}
	}
	checks["revocations"] = func(context.Context) error {
		select {
		case <-s.Revocations.Ready():
			return nil
		default:
			return errors.New("token revocations not loaded from consul yet")
		}
	}
	spec.Checks = checks
	hl := health.New(spec.Checks)
	metrics := middleware.NewMetrics(s.Registry)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/live", hl.Live)
	mux.HandleFunc("GET /healthz/ready", hl.Ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	mux.Handle("/", spec.Handler)

	srv := &http.Server{
		Handler:           middleware.Logger(s.Log)(middleware.Recover(middleware.RequestID(metrics.Observe(mux)))),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(s.listener) }()

	reg := s.registration(meta, spec.Checks)
	if err := s.register(ctx, reg); err != nil {
		_ = srv.Close()
		return err
	}
	s.Log.Info("service started", "addr", s.Addr)

	var wg sync.WaitGroup
	for _, fn := range spec.Background {
		wg.Add(1)
		go func() { defer wg.Done(); fn(s.ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.keepRegistered(reg) }()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		s.Log.Error("http server stopped", "err", err)
	}

	s.Log.Info("shutting down")
	hl.Drain()
	if err := s.Consul.Agent().ServiceDeregister(s.InstanceID); err != nil {
		s.Log.Warn("consul deregister failed", "err", err.Error())
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.base.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.Log.Warn("drain incomplete", "err", err.Error())
	}
	s.cancel()
	wg.Wait()
	s.Log.Info("stopped")
	return nil
}

func (s *Service) registration(meta map[string]string, checks map[string]health.Check) *consul.AgentServiceRegistration {
	host, portStr, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(portStr)
	meta["instance"] = s.InstanceID
	return &consul.AgentServiceRegistration{
		ID: s.InstanceID, Name: s.Name, Address: host, Port: port,
		Tags: []string{"hospital", "http"},
		Meta: meta,
		Check: &consul.AgentServiceCheck{
			CheckID:                        "ready-" + s.InstanceID,
			Name:                           s.Name + " readiness",
			HTTP:                           "http://" + s.Addr + "/healthz/ready",
			Interval:                       s.checkIntv.String(),
			Timeout:                        "3s",
			DeregisterCriticalServiceAfter: "1m",
		},
	}
}

// register retries until the agent accepts (it may start after us). The
// check starts passing when our own readiness already passes, so a healthy
// instance takes traffic without waiting a check interval.
func (s *Service) register(ctx context.Context, reg *consul.AgentServiceRegistration) error {
	backoff := 200 * time.Millisecond
	for {
		reg.Check.Status = consul.HealthCritical
		if s.ready(ctx, reg) {
			reg.Check.Status = consul.HealthPassing
		}
		err := s.Consul.Agent().ServiceRegisterOpts(reg, consul.ServiceRegisterOpts{ReplaceExistingChecks: true})
		if err == nil {
			return nil
		}
		s.Log.Warn("consul registration failed; retrying", "err", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("register %s: %w", s.InstanceID, errors.Join(err, ctx.Err()))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Service) ready(ctx context.Context, reg *consul.AgentServiceRegistration) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, reg.Check.HTTP, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// keepRegistered re-registers when the agent no longer knows us (agent
// restarted, or it reaped us after a long outage).
func (s *Service) keepRegistered(reg *consul.AgentServiceRegistration) {
	t := time.NewTicker(2 * s.checkIntv)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		svc, _, err := s.Consul.Agent().Service(s.InstanceID, nil)
		if err == nil && svc != nil {
			continue
		}
		var se consul.StatusError
		if err != nil && !(errors.As(err, &se) && se.Code == http.StatusNotFound) {
			continue // agent unreachable: nothing to re-register with yet
		}
		s.Log.Warn("consul agent lost our registration; registering again")
		if err := s.register(s.ctx, reg); err != nil && s.ctx.Err() == nil {
			s.Log.Error("re-registration failed", "err", err.Error())
		}
	}
}
