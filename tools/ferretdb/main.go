// Command ferretdb runs FerretDB v1.24 (a MongoDB wire-protocol server) for
// local runs and tests, on its PostgreSQL backend (or SQLite).
//
// It wraps the embeddable package github.com/FerretDB/FerretDB/ferretdb
// because the upstream command refuses to start when built from the Go
// module proxy (its version file is generated at release time). The flags
// mirror the upstream ones that matter here:
//
//	ferretdb --listen-addr=127.0.0.1:27017 --handler=pg \
//	         --postgresql-url=postgres://127.0.0.1:5432/ferretdb \
//	         --debug-addr=127.0.0.1:8088 --log-level=info
//
// With no user in --postgresql-url, every client authenticates (PLAIN) and
// FerretDB connects to PostgreSQL as that client, so nothing is reachable
// without a PostgreSQL role's password.
//
// The debug address serves /debug/livez and /debug/readyz (200 once the
// MongoDB listener is bound).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "listen TCP address (empty disables TCP)")
	listenUnix := flag.String("listen-unix", "", "listen Unix domain socket path")
	handler := flag.String("handler", "sqlite", "backend handler: postgresql (pg) or sqlite")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI (directory) for the sqlite handler")
	pgURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/ferretdb", "PostgreSQL URL for the postgresql handler")
	debugAddr := flag.String("debug-addr", "127.0.0.1:8088", "listen address for /debug/livez and /debug/readyz (empty or - disables)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := flag.String("log-format", "json", "log format: json or text")
	// Accepted for command-line compatibility with the upstream binary.
	flag.String("telemetry", "disable", "ignored (telemetry is always off)")
	flag.String("state-dir", "", "ignored")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("bad --log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, opts)
	if *logFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	logger := slog.New(h)

	if *handler == "sqlite" {
		if err := ensureSQLiteDir(*sqliteURL); err != nil {
			return err
		}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr, Unix: *listenUnix},
		Logger:        logger,
		Handler:       *handler,
		PostgreSQLURL: *pgURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *debugAddr != "" && *debugAddr != "-" {
		srv, err := debugServer(*debugAddr)
		if err != nil {
			return err
		}
		defer srv.Close()
	}

	backend := *sqliteURL
	if *handler != "sqlite" {
		backend = redactURL(*pgURL)
	}
	logger.Info("ferretdb listening", "uri", f.MongoDBURI(), "handler", *handler, "backend", backend)
	return f.Run(ctx)
}

// redactURL hides a password in a PostgreSQL URL before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// ensureSQLiteDir creates the directory a file: SQLite URI points at.
func ensureSQLiteDir(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad --sqlite-url: %w", err)
	}
	dir := u.Opaque
	if dir == "" {
		dir = u.Path
	}
	if dir == "" {
		return errors.New("bad --sqlite-url: no directory")
	}
	if !strings.HasSuffix(dir, "/") {
		return errors.New("bad --sqlite-url: the directory must end with /")
	}
	return os.MkdirAll(dir, 0o750)
}

func debugServer(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/livez", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	// The MongoDB listener is bound before this server starts, so ready
	// means the same as live here.
	mux.HandleFunc("/debug/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}
