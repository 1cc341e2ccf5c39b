package idempotency_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"sync"
	"testing"

	"hospital/lib/idempotency"
	"hospital/lib/mysqldb"
	"hospital/lib/problem"
	"hospital/lib/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func TestConcurrentDuplicatesActOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := testkit.NewMySQL(t, idempotency.Migrate)
	if _, err := db.Exec(`CREATE TABLE things (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))`); err != nil {
		t.Fatal(err)
	}
	fp := idempotency.Fingerprint([]byte("POST /things"), []byte(`{"name":"a"}`))

	// create does the work once per key and replays the stored answer otherwise.
	create := func(key, fingerprint string) (int, string, error) {
		var (
			status int
			body   string
		)
		err := mysqldb.InTx(ctx, db, func(tx *sql.Tx) error {
			stored, err := idempotency.Begin(ctx, tx, "things", key, fingerprint)
			if err != nil {
				return err
			}
			if stored != nil {
				status, body = stored.Status, string(stored.Body)
				return nil
			}
			res, err := tx.Exec(`INSERT INTO things (name) VALUES ('a')`)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			status, body = http.StatusCreated, `{"id":`+string(rune('0'+id))+`}`
			return idempotency.Finish(ctx, tx, "things", key, status, []byte(body))
		})
		return status, body, err
	}

	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b, err := create("key-1", fp)
			if err != nil || st != http.StatusCreated {
				t.Errorf("call %d: %d %v", i, st, err)
			}
			bodies[i] = b
		}()
	}
	wg.Wait()
	var n int
	_ = db.QueryRow(`SELECT COUNT(*) FROM things`).Scan(&n)
	if n != 1 {
		t.Fatalf("20 concurrent calls with one key made %d rows, want 1", n)
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("replayed answers differ: %q vs %q", b, bodies[0])
		}
	}

	// The same key for a different request is refused, and changes nothing.
	_, _, err := create("key-1", idempotency.Fingerprint([]byte("other")))
	if p, ok := problem.As(err); !ok || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("reused key for another request: %v", err)
	}
	_ = db.QueryRow(`SELECT COUNT(*) FROM things`).Scan(&n)
	if n != 1 {
		t.Fatalf("rows = %d after refused reuse", n)
	}
	// A new key acts again.
	if _, _, err := create("key-2", fp); err != nil {
		t.Fatal(err)
	}
	_ = db.QueryRow(`SELECT COUNT(*) FROM things`).Scan(&n)
	if n != 2 {
		t.Fatalf("rows = %d after a new key, want 2", n)
	}
}
