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

// FerretDB is a throwaway MongoDB-compatible server (FerretDB on SQLite)
// shared by the tests of one package.
type FerretDB struct {
	// URI is the server's address, without a database: mongodb://127.0.0.1:<port>/
	URI  string
	Port int
	dir  string
	proc *Proc
}

var (
	ferretOnce sync.Once
	ferret     *FerretDB
	ferretErr  error
)

// SharedFerretDB starts (once per test binary) a FerretDB server with the
// SQLite backend in its own temporary directory; Main stops it and removes
// the directory.
func SharedFerretDB(t testing.TB) *FerretDB {
	t.Helper()
	ferretOnce.Do(func() {
		ferret, ferretErr = retryStart(3, startFerretDB)
		if ferretErr == nil {
			atExit(ferret.stop)
		}
	})
	if ferretErr != nil {
		t.Fatalf("ferretdb: %v", ferretErr)
	}
	return ferret
}

func startFerretDB() (*FerretDB, error) {
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
	proc, err := Start(dir, "ferretdb", bin, []string{
		"--listen-addr=127.0.0.1:" + strconv.Itoa(port),
		"--handler=sqlite",
		"--sqlite-url=file:" + filepath.Join(dir, "data") + "/",
		"--debug-addr=127.0.0.1:" + strconv.Itoa(debugPort),
		"--log-level=warn",
	}, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	f := &FerretDB{URI: fmt.Sprintf("mongodb://127.0.0.1:%d/", port), Port: port, dir: dir, proc: proc}
	// The debug listener starts after the MongoDB one is bound.
	err = Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		if err := HTTPOK(fmt.Sprintf("http://127.0.0.1:%d/debug/readyz", debugPort))(ctx); err != nil {
			return err
		}
		return TCPOpen(fmt.Sprintf("127.0.0.1:%d", port))(ctx)
	})
	if err != nil {
		f.stop()
		return nil, err
	}
	return f, nil
}

func (f *FerretDB) stop() {
	_ = f.proc.Stop(20 * time.Second)
	os.RemoveAll(f.dir)
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
