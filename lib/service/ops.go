package service

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hospital/lib/health"
	"hospital/lib/middleware"
)

// Operator listener paths.
const (
	LivePath    = "/healthz/live"
	ReadyPath   = "/healthz/ready"
	MetricsPath = "/metrics"
)

// opsServer serves what operators, Consul and Prometheus read. It is a
// listener of its own so none of it is reachable on the API port (which the
// gateway exposes to the world).
func (s *Service) opsServer(hl *health.Health) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LivePath, hl.Live)
	mux.HandleFunc("GET "+ReadyPath, hl.Ready)
	mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	return &http.Server{
		Handler:           middleware.Recover(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}
