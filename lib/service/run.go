package service

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"hospital/lib/health"
	"hospital/lib/middleware"
	"hospital/lib/routemeta"
)

// Run serves until SIGINT/SIGTERM or until ctx ends, then stops in an order
// that loses no request (docs/RESILIENCE.md):
//
//  1. readiness fails and re-registration stops for good;
//  2. the instance leaves Consul, so no caller picks it any more;
//  3. it keeps serving for DrainDelay, for callers whose view of Consul is a
//     moment old;
//  4. the API listener closes and in-flight requests finish (up to
//     ShutdownTimeout);
//  5. background workers stop, then the operator listener.
func (s *Service) Run(ctx context.Context, spec Spec) error {
	defer s.closeLogs()
	defer s.cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if err := s.build(&spec); err != nil {
		s.closeListeners()
		return err
	}
	// Start-up (migrations, the OpenAPI document, the route table) leaves
	// megabytes of garbage that the runtime would hand back to the system
	// only over minutes; an idle instance's resident set should be its
	// working set, so collect and return it now, once.
	debug.FreeOSMemory()
	meta, err := routemeta.Encode(spec.Routes)
	if err != nil {
		s.closeListeners()
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
	hl := health.New(checks)
	metrics := middleware.NewMetrics(s.Registry)

	// The API listener serves the API and nothing else: health and metrics
	// are for operators and Consul, on the operator listener.
	srv := &http.Server{
		Handler:           middleware.Logger(s.Log)(middleware.Recover(middleware.RequestID(metrics.Observe(spec.Handler)))),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ops := s.opsServer(hl)
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(s.listener) }()
	go func() { serveErr <- ops.Serve(s.opsLn) }()

	reg := s.registration(meta)
	if err := s.register(ctx, reg); err != nil {
		_ = srv.Close()
		_ = ops.Close()
		return err
	}
	s.Log.Info("service started", "addr", s.Addr, "ops_addr", s.OpsAddr)

	var wg sync.WaitGroup
	for _, fn := range spec.Background {
		wg.Add(1)
		go func() { defer wg.Done(); fn(s.ctx) }()
	}
	// Re-registration has its own context: it ends before deregistration,
	// so a stopping instance can never put itself back into Consul.
	regCtx, stopReg := context.WithCancel(s.ctx)
	defer stopReg()
	regDone := make(chan struct{})
	go func() { defer close(regDone); s.keepRegistered(regCtx, reg) }()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			s.Log.Error("http server stopped", "err", err)
		}
	}

	s.Log.Info("shutting down: leaving consul", "drain_delay", s.base.DrainDelay.String())
	hl.Drain()
	stopReg()
	<-regDone
	s.deregister()
	// Still serving: a caller may have picked this instance just before it
	// left Consul.
	time.Sleep(s.base.DrainDelay)
	s.Log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.base.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.Log.Warn("drain incomplete", "err", err.Error())
	}
	s.cancel()
	wg.Wait()
	octx, ocancel := context.WithTimeout(context.Background(), time.Second)
	defer ocancel()
	_ = ops.Shutdown(octx)
	s.Log.Info("stopped")
	return nil
}

func (s *Service) closeListeners() {
	s.listener.Close()
	s.opsLn.Close()
}
