package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// FerretBackend is the storage FerretDB keeps its data in.
type FerretBackend string

const (
	// FerretPostgreSQL is the backend the platform uses. FerretDB v1.24
	// pushes top-level equality filters down to PostgreSQL, which runs them
	// as sequential scans of the collection's table (the indexes are for
	// MongoDB in production); ranges, $in and sorts it applies itself.
	FerretPostgreSQL FerretBackend = "postgresql"
	// FerretSQLite is kept for comparison (docs/BENCHMARKS.md): it serves no
	// filter from an index.
	FerretSQLite FerretBackend = "sqlite"
)

// FerretDB is a throwaway MongoDB-compatible server: FerretDB on a
// PostgreSQL cluster of its own (or on SQLite, when asked).
type FerretDB struct {
	// URI is the server's address, without a database: mongodb://127.0.0.1:<port>/
	URI     string
	Port    int
	Backend FerretBackend
	dir     string
	proc    *Proc
	pg      *Postgres
}

var (
	ferretOnce sync.Once
	ferret     *FerretDB
	ferretErr  error
)

// SharedFerretDB starts (once per test binary) a FerretDB server on its own
// PostgreSQL cluster; Main stops both and removes their directories.
func SharedFerretDB(t testing.TB) *FerretDB {
	t.Helper()
	ferretOnce.Do(func() {
		ferret, ferretErr = startFerretDB(FerretPostgreSQL)
		if ferretErr == nil {
			atExit(ferret.stop)
		}
	})
	if ferretErr != nil {
		t.Fatalf("ferretdb: %v", ferretErr)
	}
	return ferret
}

// StartFerretDB starts a server of its own (with its own PostgreSQL cluster
// for FerretPostgreSQL), stopped when t ends: for a test that stops the
// store, or a benchmark that compares backends.
func StartFerretDB(t testing.TB, backend FerretBackend) *FerretDB {
	t.Helper()
	f, err := startFerretDB(backend)
	if err != nil {
		t.Fatalf("ferretdb: %v", err)
	}
	t.Cleanup(f.stop)
	return f
}

func startFerretDB(backend FerretBackend) (*FerretDB, error) {
	var pg *Postgres
	if backend == FerretPostgreSQL {
		var err error
		if pg, err = retryStart(3, startPostgres); err != nil {
			return nil, fmt.Errorf("postgres for ferretdb: %w", err)
		}
	}
	f, err := retryStart(3, func() (*FerretDB, error) { return startFerretOn(backend, pg) })
	if err != nil && pg != nil {
		pg.stop()
	}
	return f, err
}

func startFerretOn(backend FerretBackend, pg *Postgres) (*FerretDB, error) {
	bin, err := Binary("ferretdb")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("ferretdb")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	debugPort, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args := []string{
		"--listen-addr=127.0.0.1:" + strconv.Itoa(port),
		"--debug-addr=127.0.0.1:" + strconv.Itoa(debugPort),
		"--log-level=warn",
	}
	switch backend {
	case FerretPostgreSQL:
		// FerretDB wedges for good when more updates run at once than its
		// pool has connections (each holds one while it waits for a second):
		// keep the pool above what the clients of a test binary can open
		// (mongodb.MaxPoolSize each), and below PostgreSQL's 300.
		args = append(args, "--handler=postgresql", "--postgresql-url="+pg.URL("ferretdb")+"?pool_max_conns=250")
	case FerretSQLite:
		args = append(args, "--handler=sqlite", "--sqlite-url=file:"+filepath.Join(dir, "data")+"/")
	default:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("unknown FerretDB backend %q", backend)
	}
	proc, err := Start(dir, "ferretdb", bin, args, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &FerretDB{URI: fmt.Sprintf("mongodb://127.0.0.1:%d/", port), Port: port, Backend: backend, dir: dir, proc: proc, pg: pg}
	// The debug listener starts after the MongoDB one is bound.
	err = Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		if err := HTTPOK(fmt.Sprintf("http://127.0.0.1:%d/debug/readyz", debugPort))(ctx); err != nil {
			return err
		}
		return TCPOpen(fmt.Sprintf("127.0.0.1:%d", port))(ctx)
	})
	if err != nil {
		_ = proc.Stop(20 * time.Second)
		os.RemoveAll(dir)
		return nil, err
	}
	return f, nil
}

// Kill ends the FerretDB process at once, as a crash would (its PostgreSQL
// cluster keeps running until the test ends). For tests of a store outage.
func (f *FerretDB) Kill() { f.proc.Kill() }

// KillPostgreSQL ends the PostgreSQL cluster under the server at once (the
// server keeps running and answers errors): a backend outage.
func (f *FerretDB) KillPostgreSQL() {
	if f.pg != nil {
		f.pg.proc.Kill()
	}
}

func (f *FerretDB) stop() {
	_ = f.proc.Stop(20 * time.Second)
	os.RemoveAll(f.dir)
	if f.pg != nil {
		f.pg.stop()
	}
}

// NewDatabase returns the name of a database no other test uses (created
// on first write). Services take it as MONGO_DB with MONGO_URI=f.URI. It is
// not dropped: the server's whole data directory goes when the test binary
// ends, and keeping testkit free of a MongoDB driver keeps it out of the
// modules that do not use one.
func (f *FerretDB) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}
