// Command gateway is the platform's API gateway, the only entry point for
// clients. Its routes come from what the services advertise in Consul.
package main

import (
	"context"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"hospital/lib/service"
	"hospital/svc/gateway/edge"
)

func main() { service.Main("gateway", run) }

func run() error {
	if os.Getenv("GOGC") == "" {
		// Every request allocates a few KiB while the live heap stays a few
		// MiB, so at the default GOGC=100 the collector runs dozens of
		// times a second under load and takes a fifth of the CPU. A larger
		// ratio trades some MiB of heap for most of that CPU.
		debug.SetGCPercent(400)
	}
	cfg, err := edge.LoadConfig()
	if err != nil {
		return err
	}
	s, err := service.New("gateway", cfg.Base)
	if err != nil {
		return err
	}
	g, err := edge.New(s, cfg)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		go servePprof(cfg.PprofAddr, s)
	}
	return s.Run(context.Background(), g.Spec())
}

// servePprof serves the profiler on addr (PPROF_ADDR), apart from the
// public listener.
func servePprof(addr string, s *service.Service) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-s.Context().Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		s.Log.Error("pprof listener", "addr", addr, "err", err.Error())
	}
}
