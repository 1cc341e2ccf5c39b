package oversight_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"hospital/lib/apitest"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/testkit"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// A service's event is appended once: its replay answers the same position
// and adds nothing; the chain stays valid.
func TestIngestAppendsOnceAndChains(t *testing.T) {
	e := ot.New(t, nil)
	ev := ot.Event("billing", "billing.invoice.read", 41, auth.RoleAdmin, 7).On("invoice", "12").With("reason", "audit")
	first := e.Ingest(ev)
	if first.Position != 1 || first.Duplicate || first.EventID != ev.EventID {
		t.Fatalf("first receipt %+v", first)
	}
	again := e.Ingest(ev)
	if again.Position != 1 || !again.Duplicate {
		t.Fatalf("replay receipt %+v", again)
	}
	second := e.Ingest(ot.Event("billing", "billing.invoice.list", 41, auth.RoleAdmin, 7))
	if second.Position != 2 || second.Duplicate {
		t.Fatalf("second receipt %+v", second)
	}
	if n := e.Count(`SELECT COUNT(*) FROM audit_log`); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	rows, err := e.Store.EntriesFrom(context.Background(), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].PrevHash != oversight.GenesisHash || rows[1].PrevHash != rows[0].Hash {
		t.Errorf("not chained: %s -> %s, %s -> %s", rows[0].PrevHash, rows[0].Hash, rows[1].PrevHash, rows[1].Hash)
	}
	got := rows[0]
	if *got.UserID != 41 || *got.PatientID != 7 || got.Role != auth.RoleAdmin || got.ObjectID != "12" ||
		string(got.Details) != `{"reason":"audit"}` || !got.Timestamp.Equal(ev.Timestamp.Truncate(time.Microsecond)) {
		t.Errorf("stored %+v", got)
	}
	v, err := e.Svc.VerifyChain(ot.AsAdmin(1))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Checked != 2 || v.HeadPosition != 2 || len(v.Problems) != 0 {
		t.Errorf("verification %+v", v)
	}
	// The verification is itself an entry, chained after the others.
	if h, _ := e.Store.Head(context.Background()); h.Position != 3 {
		t.Errorf("head at %d after the verification's own entry, want 3", h.Position)
	}
}

func TestIngestRefusesWhatItCannotStoreFaithfully(t *testing.T) {
	e := ot.New(t, nil)
	base := ot.Event("lab", "lab.result.read", 5, auth.RoleDoctor, 9)
	cases := map[string]struct {
		mod   func(*audit.Event)
		field string
	}{
		"no id":          {func(ev *audit.Event) { ev.EventID = "" }, "event_id"},
		"odd id":         {func(ev *audit.Event) { ev.EventID = "a b" }, "event_id"},
		"long id":        {func(ev *audit.Event) { ev.EventID = strings.Repeat("a", 65) }, "event_id"},
		"no time":        {func(ev *audit.Event) { ev.Timestamp = time.Time{} }, "timestamp"},
		"year 3000":      {func(ev *audit.Event) { ev.Timestamp = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, "timestamp"},
		"no action":      {func(ev *audit.Event) { ev.Action = "" }, "action_performed"},
		"long action":    {func(ev *audit.Event) { ev.Action = strings.Repeat("x", 101) }, "action_performed"},
		"bad outcome":    {func(ev *audit.Event) { ev.Outcome = "MAYBE" }, "outcome"},
		"control chars":  {func(ev *audit.Event) { ev.ObjectID = "a\x00b" }, "object_id"},
		"negative user":  {func(ev *audit.Event) { ev.UserID = -1 }, "user_id"},
		"huge details":   {func(ev *audit.Event) { ev.Details = map[string]any{"x": strings.Repeat("y", 70000)} }, "details"},
		"long client ip": {func(ev *audit.Event) { ev.ClientIP = strings.Repeat("1", 65) }, "client_ip"},
	}
	for name, c := range cases {
		ev := base
		ev.EventID = "case-" + strings.ReplaceAll(name, " ", "-")
		c.mod(&ev)
		_, err := e.Svc.Ingest(ot.AsService("lab"), ev)
		if apitest.Status(err) != 400 || len(apitest.FieldErrors(err, c.field)) == 0 {
			t.Errorf("%s: %v (want a 400 on %s)", name, err, c.field)
		}
	}
	// A service writes in its own name only.
	_, err := e.Svc.Ingest(ot.AsService("billing"), base)
	if apitest.Status(err) != 400 || len(apitest.FieldErrors(err, "service_name")) == 0 {
		t.Errorf("billing sending lab's event: %v", err)
	}
	if n := e.Count(`SELECT COUNT(*) FROM audit_log`); n != 0 {
		t.Errorf("%d entries stored from refused events", n)
	}
}

// Many services, through two instances of the admin service, send at once
// (with replays mixed in): one chain, every event once, positions 1..n.
func TestConcurrentIngestFormsOneChain(t *testing.T) {
	e := ot.New(t, nil)
	instances := []*oversight.Service{e.Svc, e.Another("admin-test-2")}
	services := []string{"user", "ehr", "appointment", "pharmacy", "billing", "lab", "notification"}
	const perService = 60
	var wg sync.WaitGroup
	errs := make(chan error, len(services)*perService*2)
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perService {
				ev := ot.Event(svc, svc+".record.read", int64(100+j), auth.RoleDoctor, int64(j%5+1))
				ev.EventID = fmt.Sprintf("%s-%03d", svc, j)
				in := instances[(i+j)%2]
				if _, err := in.Ingest(ot.AsService(svc), ev); err != nil {
					errs <- err
				}
				if j%10 == 0 { // an outbox redelivering through the other instance
					if r, err := instances[(i+j+1)%2].Ingest(ot.AsService(svc), ev); err != nil || !r.Duplicate {
						errs <- fmt.Errorf("replay of %s: %+v, %v", ev.EventID, r, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := len(services) * perService
	if n := e.Count(`SELECT COUNT(*) FROM audit_log`); n != want {
		t.Fatalf("%d entries, want %d", n, want)
	}
	if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE position BETWEEN 1 AND ?`, want); n != want {
		t.Errorf("positions are not 1..%d", want)
	}
	v, err := e.Svc.VerifyChain(ot.AsAdmin(1))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.Checked != int64(want) {
		t.Errorf("verification after concurrent appends: %+v", v)
	}
}

func TestAppendOnlyInTheDatabase(t *testing.T) {
	e := ot.New(t, nil)
	e.Ingest(ot.Event("ehr", "ehr.record.read", 3, auth.RoleDoctor, 4))
	if _, err := e.DB.Exec(`UPDATE audit_log SET patient_id = 5 WHERE position = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update: %v", err)
	}
	if _, err := e.DB.Exec(`DELETE FROM audit_log WHERE position = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("delete: %v", err)
	}
}

// Every kind of tampering is found, at its position.
func TestVerificationFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper string
		want   []oversight.Problem // positions and kinds
	}{
		{"edited", `UPDATE audit_log SET patient_id = 999 WHERE position = 5`,
			[]oversight.Problem{{Position: 5, Kind: oversight.ProblemAltered}}},
		{"edited details", `UPDATE audit_log SET details = '{"reason":"nothing to see"}' WHERE position = 3`,
			[]oversight.Problem{{Position: 3, Kind: oversight.ProblemAltered}}},
		{"deleted", `DELETE FROM audit_log WHERE position = 7`,
			[]oversight.Problem{{Position: 7, Kind: oversight.ProblemMissing}}},
		{"deleted range", `DELETE FROM audit_log WHERE position IN (4, 5, 6)`,
			[]oversight.Problem{{Position: 4, Kind: oversight.ProblemMissing}}},
		{"tail cut", `DELETE FROM audit_log WHERE position >= 11`,
			[]oversight.Problem{{Position: 11, Kind: oversight.ProblemMissing}}},
		{"head moved", `UPDATE audit_chain SET last_hash = REPEAT('f', 64)`,
			[]oversight.Problem{{Position: 12, Kind: oversight.ProblemHead}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ot.New(t, nil)
			for i := range 12 {
				e.Ingest(ot.Event("pharmacy", "pharmacy.prescription.read", 8, auth.RolePharmacist, int64(i+1)).With("reason", "dispense"))
			}
			e.DropGuards()
			if _, err := e.DB.Exec(c.tamper); err != nil {
				t.Fatal(err)
			}
			v, err := e.Svc.VerifyChain(ot.AsAdmin(1))
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid || len(v.Problems) != len(c.want) {
				t.Fatalf("verification %+v, want %v", v, c.want)
			}
			for i, p := range c.want {
				if v.Problems[i].Position != p.Position || v.Problems[i].Kind != p.Kind || v.Problems[i].Detail == "" {
					t.Errorf("problem %d: %+v, want %+v", i, v.Problems[i], p)
				}
			}
		})
	}
}

// An intruder who edits an entry and recomputes its hash still breaks the
// link to the next entry.
func TestRehashedEditBreaksTheNextLink(t *testing.T) {
	e := ot.New(t, nil)
	for i := range 6 {
		e.Ingest(ot.Event("ehr", "ehr.record.read", 3, auth.RoleDoctor, int64(i+1)))
	}
	e.DropGuards()
	rows, err := e.Store.EntriesFrom(context.Background(), 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	forged := rows[0]
	other := int64(77)
	forged.PatientID = &other
	forged.Hash = oversight.EntryHash(forged.PrevHash, forged)
	if _, err := e.DB.Exec(`UPDATE audit_log SET patient_id = 77, hash = ? WHERE position = 3`, forged.Hash); err != nil {
		t.Fatal(err)
	}
	v, err := e.Svc.VerifyChain(ot.AsAdmin(1))
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid || len(v.Problems) != 1 || v.Problems[0].Position != 4 || v.Problems[0].Kind != oversight.ProblemBrokenLink {
		t.Errorf("verification %+v", v)
	}
}
