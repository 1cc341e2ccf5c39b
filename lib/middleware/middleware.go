// Package middleware holds the HTTP layers every service and the gateway wrap
// around their handlers: request IDs, panic recovery, access logs and RED
// metrics.
package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"hospital/lib/logging"
	"hospital/lib/problem"
)

// RequestIDHeader carries the request ID between clients, gateway and services.
const RequestIDHeader = "X-Request-ID"

// validRequestID keeps client-supplied IDs short and log-safe.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// NewRequestID returns a random 128-bit hex ID.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestID accepts a well-formed X-Request-ID or mints one, echoes it on the
// response and puts it (in a logging.Fields) into the request context.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID.MatchString(id) {
			id = NewRequestID()
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		ctx, f := logging.WithFields(r.Context(), id)
		f.SetClientIP(clientIP(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Logger puts l into every request's context (logging.From), so lib code
// that logs for a request uses the server's logger.
func Logger(l *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(logging.WithLogger(r.Context(), l)))
		})
	}
}

// ClientIPHeader carries the end client's address from the gateway (which
// sets it from the connection and its trusted proxies) to the services.
const ClientIPHeader = "X-Client-IP"

// clientIP is the gateway's X-Client-IP when present, else the peer address.
// Services are reached only through the gateway and each other (see
// docs/OPERATIONS.md), so the header is as trustworthy as that network rule.
func clientIP(r *http.Request) string {
	if v := r.Header.Get(ClientIPHeader); v != "" && len(v) <= 64 {
		if a, err := netip.ParseAddr(v); err == nil {
			return a.Unmap().String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Recover turns a panic into a 500 problem; the stack goes to the log only.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logging.From(r.Context()).ErrorContext(r.Context(), "panic serving request", "panic", v, "stack", string(debug.Stack()))
				problem.Write(w, r, problem.New(http.StatusInternalServerError, "Internal server error."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// RouteLabel is a mux middleware recording the matched path template, used
// as the route in logs and metrics (never the raw path: it holds IDs).
func RouteLabel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tpl, err := route.GetPathTemplate(); err == nil {
				logging.FieldsFrom(r.Context()).SetRoute(tpl)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Metrics are the RED metrics of one HTTP server.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge

	// Series already looked up, so recording a request allocates nothing.
	mu     sync.RWMutex
	series map[seriesKey]seriesPair
}

type seriesKey struct {
	method, route string
	code          int
}

type seriesPair struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests served, by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		series: map[seriesKey]seriesPair{},
	}
	reg.MustRegister(m.requests, m.duration, m.inflight)
	return m
}

func (m *Metrics) seriesFor(method, route string, code int) seriesPair {
	k := seriesKey{method, route, code}
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if ok {
		return s
	}
	s = seriesPair{
		requests: m.requests.WithLabelValues(method, route, strconv.Itoa(code)),
		duration: m.duration.WithLabelValues(method, route),
	}
	m.mu.Lock()
	if len(m.series) < maxSeries {
		m.series[k] = s
	}
	m.mu.Unlock()
	return s
}

// maxSeries bounds the lookup cache (methods are client-chosen strings).
const maxSeries = 4096

// Observe logs each request (access log) and records RED metrics. It must sit
// inside RequestID so the log line carries the request ID.
func (m *Metrics) Observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		m.inflight.Inc()
		defer m.inflight.Dec()
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := logging.FieldsFrom(r.Context()).Route()
		if route == "" {
			route = "unmatched"
		}
		s := m.seriesFor(r.Method, route, sw.status)
		s.requests.Inc()
		s.duration.Observe(elapsed.Seconds())
		if isProbe(r.URL.Path) && sw.status < 400 {
			return // health checks every few seconds would drown the log
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		logging.From(r.Context()).LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method), slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000))
	})
}

func isProbe(path string) bool {
	return path == "/healthz/live" || path == "/healthz/ready" || path == "/metrics"
}
