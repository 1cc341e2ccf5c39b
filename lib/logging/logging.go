// Package logging sets up the platform's structured logs: JSON lines on
// stdout carrying service, instance and, per request, request_id, user_id and
// route. Logs never carry PHI, passwords or tokens: callers log identifiers only.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// Fields is the per-request log context. Middleware puts one in the request
// context early and later layers fill it in (auth adds the user id).
type Fields struct {
	mu        sync.Mutex
	requestID string
	userID    string
	route     string
	clientIP  string
}

type fieldsKey struct{}

// WithFields returns ctx carrying a fresh Fields for requestID.
func WithFields(ctx context.Context, requestID string) (context.Context, *Fields) {
	f := &Fields{requestID: requestID}
	return context.WithValue(ctx, fieldsKey{}, f), f
}

// FieldsFrom returns the request's Fields, or nil outside a request.
func FieldsFrom(ctx context.Context) *Fields {
	f, _ := ctx.Value(fieldsKey{}).(*Fields)
	return f
}

// RequestID returns the request ID carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if f := FieldsFrom(ctx); f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.requestID
	}
	return ""
}

// SetClientIP records the address of the client the request came from (for
// audit events; not a log field).
func (f *Fields) SetClientIP(ip string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.clientIP = ip
	f.mu.Unlock()
}

// ClientIP returns the client address recorded for the request in ctx, or "".
func ClientIP(ctx context.Context) string {
	if f := FieldsFrom(ctx); f != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.clientIP
	}
	return ""
}

// SetUser records the authenticated caller for the rest of the request's logs.
func (f *Fields) SetUser(id string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.userID = id
	f.mu.Unlock()
}

// SetRoute records the matched route template.
func (f *Fields) SetRoute(route string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.route = route
	f.mu.Unlock()
}

// Route returns the matched route template, or "".
func (f *Fields) Route() string {
	if f == nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.route
}

func (f *Fields) attrs() []slog.Attr {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]slog.Attr, 0, 3)
	if f.requestID != "" {
		out = append(out, slog.String("request_id", f.requestID))
	}
	if f.userID != "" {
		out = append(out, slog.String("user_id", f.userID))
	}
	if f.route != "" {
		out = append(out, slog.String("route", f.route))
	}
	return out
}

// contextHandler adds the request's Fields to every record logged with a context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if f := FieldsFrom(ctx); f != nil {
		r.AddAttrs(f.attrs()...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// New returns a JSON logger writing to w, tagged with service and instance.
func New(w io.Writer, service, instance, level string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	base := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	return slog.New(contextHandler{base}).With("service", service, "instance", instance)
}

// Setup builds the service logger (stdout, plus a Loki push sink when
// pushURL is set) and returns a closer that flushes the sink. Installing it
// as slog's default is main's choice, not a library's.
func Setup(service, instance, level, pushURL string) (*slog.Logger, func()) {
	var w io.Writer = os.Stdout
	closer := func() {}
	if pushURL != "" {
		lw := NewLokiWriter(pushURL, map[string]string{"service": service, "instance": instance})
		w = io.MultiWriter(os.Stdout, lw)
		closer = lw.Close
	}
	return New(w, service, instance, level), closer
}

type loggerKey struct{}

// WithLogger returns ctx carrying l, the logger of the server handling the
// request; lib code that logs for a request takes it with From.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// From returns the logger carried by ctx, or slog's default outside a server.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
