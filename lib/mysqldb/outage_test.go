package mysqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"hospital/lib/mysqldb"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// relay is a TCP hop between the driver and the real server, so a test can
// take the server away from under open connections (as a crash or a
// network cut would) without stopping the MariaDB the other tests share.
type relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	mute   bool // accept, but neither forward nor answer (a stopped server)
}

func newRelay(t *testing.T, target string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target}
	go r.serve()
	t.Cleanup(r.close)
	return r
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		mute := r.mute
		r.mu.Unlock()
		if mute {
			continue // held open, never answered
		}
		up, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, up)
		r.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (r *relay) addr() string { return r.ln.Addr().String() }

// close stops listening and drops every connection: the server is gone.
func (r *relay) close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// openThrough opens dsn with its address replaced by addr.
func openThrough(t *testing.T, dsn, addr string) *sql.DB {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := mysqldb.Open(ctx, cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mustFailFast runs a query with a deadline far beyond the limits Open sets:
// it must fail on its own, with an error Unreachable recognises.
func mustFailFast(t *testing.T, what string, db *sql.DB) {
	t.Helper()
	ops := map[string]func(ctx context.Context) error{
		"select": func(ctx context.Context) error {
			var n int
			return db.QueryRowContext(ctx, `SELECT 1`).Scan(&n)
		},
		"insert": func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, `INSERT INTO things (name) VALUES ('x')`)
			return err
		},
		"transaction": func(ctx context.Context) error {
			return mysqldb.InTx(ctx, db, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO things (name) VALUES ('y')`)
				return err
			})
		},
		"ping": mysqldb.Ping(db),
	}
	for name, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := op(ctx)
		took := time.Since(start)
		expired := ctx.Err()
		cancel()
		if err == nil {
			t.Fatalf("%s: %s succeeded", what, name)
		}
		if expired != nil {
			t.Fatalf("%s: %s waited for the caller's deadline: %v", what, name, err)
		}
		if !mysqldb.Unreachable(err) {
			t.Fatalf("%s: %s failed with %v (%T), which Unreachable does not recognise", what, name, err, err)
		}
		t.Logf("%s: %s failed after %s", what, name, took.Round(time.Millisecond))
	}
}

func TestStoppedServerFailsFastAndIsRecognised(t *testing.T) {
	db, dsn := testkit.NewMySQL(t, nil)
	if _, err := db.Exec(`CREATE TABLE things (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))`); err != nil {
		t.Fatal(err)
	}
	r := newRelay(t, fmt.Sprintf("127.0.0.1:%d", testkit.SharedMariaDB(t).Port))
	via := openThrough(t, dsn, r.addr())
	via.SetMaxIdleConns(10)
	// Open connections in the pool, as a serving instance has.
	for range 5 {
		if _, err := via.Exec(`INSERT INTO things (name) VALUES ('a')`); err != nil {
			t.Fatal(err)
		}
	}
	r.close()
	mustFailFast(t, "server gone", via)
	mustFailFast(t, "server still gone", via)
}

func TestSilentServerFailsFastAndIsRecognised(t *testing.T) {
	db, dsn := testkit.NewMySQL(t, nil)
	if _, err := db.Exec(`CREATE TABLE things (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))`); err != nil {
		t.Fatal(err)
	}
	r := newRelay(t, fmt.Sprintf("127.0.0.1:%d", testkit.SharedMariaDB(t).Port))
	via := openThrough(t, dsn, r.addr())
	// No idle connections: every request opens one, and from now on the
	// server accepts connections but never says a word (as one stopped
	// with SIGSTOP, or wedged, does).
	via.SetMaxIdleConns(0)
	r.mu.Lock()
	r.mute = true
	r.mu.Unlock()
	mustFailFast(t, "server silent", via)
}

func TestUnreachableOnlyForOutages(t *testing.T) {
	db, _ := testkit.NewMySQL(t, nil)
	if _, err := db.Exec(`CREATE TABLE u (id INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO u VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	_, dup := db.Exec(`INSERT INTO u VALUES (1)`)
	_, syntax := db.Exec(`INSERT INTO nowhere VALUES (1)`)
	missing := db.QueryRow(`SELECT id FROM u WHERE id = 2`).Scan(new(int))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, canceled := db.ExecContext(ctx, `SELECT 1`)
	for name, err := range map[string]error{
		"nil": nil, "duplicate": dup, "unknown table": syntax, "no rows": missing,
		"cancelled": canceled, "other": errors.New("boom"),
	} {
		if name != "nil" && err == nil {
			t.Fatalf("%s: expected an error", name)
		}
		if mysqldb.Unreachable(err) || mysqldb.Unreachable(fmt.Errorf("wrapped: %w", err)) {
			t.Fatalf("Unreachable(%s: %v) = true", name, err)
		}
	}
}
