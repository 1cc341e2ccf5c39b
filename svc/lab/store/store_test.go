package store_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"hospital/lib/mongodb"
	"hospital/lib/testkit"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/store"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// With the database gone, reads and writes fail within the driver's own
// limits, not at the caller's deadline, with errors mongodb.Unreachable
// recognises through the store's wrapping (the service answers them 503).
func TestAnUnreachableDatabaseIsRecognised(t *testing.T) {
	f := testkit.StartFerretDB(t, testkit.FerretPostgreSQL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, f.URI, "lab", "store-test", quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	o := laboratory.Order{ID: "0123456789abcdef01234567", PatientID: 1, Status: laboratory.StatusRequested}
	if err := st.CreateOrder(ctx, &o); err != nil {
		t.Fatal(err)
	}
	f.Kill()
	for name, op := range map[string]func(ctx context.Context) error{
		"read":  func(ctx context.Context) error { _, err := st.Order(ctx, o.ID); return err },
		"list":  func(ctx context.Context) error { _, _, err := st.Pending(ctx, 20, 0); return err },
		"count": func(ctx context.Context) error { _, err := st.CountOrders(ctx, laboratory.StatusRequested); return err },
		"change": func(ctx context.Context) error {
			_, err := st.UpdateOrder(ctx, o.ID, func(o *laboratory.Order, _ *laboratory.Change) error { o.NotesForLab = "x"; return nil })
			return err
		},
	} {
		opCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := op(opCtx)
		expired := opCtx.Err()
		cancel()
		if expired != nil {
			t.Fatalf("%s waited for the caller's deadline: %v", name, err)
		}
		if !mongodb.Unreachable(err) {
			t.Fatalf("%s: %v, which mongodb.Unreachable does not recognise", name, err)
		}
	}
}
