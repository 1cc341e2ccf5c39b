package oversight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/leader"
	"hospital/lib/testkit"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

// day is a past clinic day the tests fill with events.
var day = time.Date(2026, 11, 20, 0, 0, 0, 0, ot.Clinic)

func seedDay(e *ot.Env) {
	at := func(ev audit.Event, h int) audit.Event {
		ev.Timestamp = day.Add(time.Duration(h) * time.Hour)
		return ev
	}
	for _, ev := range []audit.Event{
		at(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, 1), 8),
		at(ot.Event("ehr", "ehr.record.read", 12, auth.RoleDoctor, 2), 9),
		at(ot.Event("ehr", "ehr.record.read", 12, auth.RoleNurse, 2).WithOutcome(audit.Denied), 10),
		at(func() audit.Event {
			ev := ot.Event("ehr", "ehr.record.read", 13, auth.RoleDoctor, 3)
			ev.BreakGlass = true
			return ev
		}(), 11),
		at(ot.Event("ehr", "ehr.encounter.create", 11, auth.RoleDoctor, 1), 12),
		at(ot.Event("billing", "billing.payment.card", 1, auth.RolePatient, 1).WithOutcome(audit.Failed), 13),
		at(ot.Event("billing", "billing.invoice.list", 1, auth.RolePatient, 1), 23), // 23:00 clinic: still the day
		// The clinic day before and after (UTC would put these on the day).
		at(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, 1), -1),
		at(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, 1), 24),
	} {
		e.Ingest(ev)
	}
}

// Two admins trigger the recalculation at once on two instances: one task,
// run once, by one of the runners elected in Consul.
func TestRecalculationRunsOnceOnOneInstance(t *testing.T) {
	e := ot.New(t, nil)
	seedDay(e)
	in := oversight.RecalculateRequest{DateFrom: "2026-11-19", DateTo: "2026-11-21"}
	instances := []*oversight.Service{e.Svc, e.Another("admin-test-2")}
	var wg sync.WaitGroup
	ids := make([]int64, 2)
	created := make([]bool, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task, c, err := instances[i].RequestRecalculation(ot.AsAdmin(int64(i+1)), in)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], created[i] = task.ID, c
		}()
	}
	wg.Wait()
	if ids[0] != ids[1] || created[0] == created[1] {
		t.Fatalf("two triggers: tasks %v, created %v; want one task created once", ids, created)
	}
	// Other days while it is pending: refused, naming the task.
	_, _, err := e.Svc.RequestRecalculation(ot.AsAdmin(1), oversight.RecalculateRequest{DateFrom: "2026-11-01", DateTo: "2026-11-02"})
	e.Expect("other days while one is pending", err, 409)

	// Both instances contend for the runner's lock.
	key := fmt.Sprintf("test/%s-%d/tasks-leader", t.Name(), time.Now().UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, svc := range instances {
		el := &leader.Election{Consul: e.Platform.Consul.Client, Key: key, Name: fmt.Sprint("runner ", i), Logger: ot.Quiet,
			SessionTTL: 10 * time.Second, LockDelay: time.Second}
		go el.Run(ctx, svc.RunTasks)
	}
	task := waitTask(t, e, ids[0], oversight.TaskSucceeded)
	if task.Runs != 1 || (task.Runner != "admin-test-1" && task.Runner != "admin-test-2") {
		t.Errorf("task ran %d times on %q", task.Runs, task.Runner)
	}
	if task.Progress != (oversight.Progress{Done: 3, Total: 3}) {
		t.Errorf("progress %+v", task.Progress)
	}
	var res oversight.RecalculateResult
	if err := json.Unmarshal(task.Result, &res); err != nil {
		t.Fatal(err)
	}
	if res.Days != 3 || res.Events != 9 || res.Services != 2 {
		t.Errorf("result %+v", res)
	}
	rows, err := e.Svc.Activity(ot.AsAdmin(1), &day, &day, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]oversight.Counts{
		"billing": {Events: 2, PatientReads: 1, Failed: 1, Patients: 1, Users: 1},
		"ehr":     {Events: 5, PatientReads: 4, Denied: 1, BreakGlass: 1, Patients: 3, Users: 3},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		if r.Day != "2026-11-20" || r.Counts != want[r.Service] {
			t.Errorf("%s on %s: %+v, want %+v", r.Service, r.Day, r.Counts, want[r.Service])
		}
	}
	// Finished: the type may run again.
	if next, c, err := e.Svc.RequestRecalculation(ot.AsAdmin(1), in); err != nil || !c || next.ID == task.ID {
		t.Errorf("after it finished: %+v, %v, %v", next, c, err)
	}
}

// A runner that stopped mid-task (its lock lost, its process killed)
// leaves the task RUNNING; the next runner runs it again, to the same
// result.
func TestInterruptedTaskIsFinishedByTheNextRunner(t *testing.T) {
	e := ot.New(t, nil)
	seedDay(e)
	task, _, err := e.Svc.RequestRecalculation(ot.AsAdmin(1), oversight.RecalculateRequest{DateFrom: "2026-11-20", DateTo: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.StartTask(context.Background(), task.ID, "a runner that died", e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Another("admin-test-2").RunTasks(ctx)
	done := waitTask(t, e, task.ID, oversight.TaskSucceeded)
	if done.Runs != 2 || done.Runner != "admin-test-2" {
		t.Errorf("runs %d, runner %q", done.Runs, done.Runner)
	}
	var res oversight.RecalculateResult
	_ = json.Unmarshal(done.Result, &res)
	if res.Events != 7 || res.Rows != 2 {
		t.Errorf("result %+v", res)
	}
}

func TestRecalculationRangeIsChecked(t *testing.T) {
	e := ot.New(t, nil)
	admin := ot.AsAdmin(1)
	for name, in := range map[string]oversight.RecalculateRequest{
		"future":   {DateTo: "2026-12-01"},
		"reversed": {DateFrom: "2026-11-20", DateTo: "2026-11-10"},
		"too long": {DateFrom: "2024-01-01", DateTo: "2026-11-20"},
		"bad date": {DateFrom: "2026-02-30"},
	} {
		_, _, err := e.Svc.RequestRecalculation(admin, in)
		e.Expect(name, err, 400)
	}
	task, _, err := e.Svc.RequestRecalculation(admin, oversight.RecalculateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var p oversight.RecalculateRequest
	_ = json.Unmarshal(task.Params, &p)
	if p.DateFrom != "2026-11-01" || p.DateTo != "2026-11-30" || task.Progress.Total != 30 || task.Status != oversight.TaskPending {
		t.Errorf("default range: %+v %+v", p, task)
	}
	_, err = e.Svc.Task(admin, task.ID+100)
	e.Expect("unknown task", err, 404)
}

func waitTask(t *testing.T, e *ot.Env, id int64, status string) oversight.Task {
	t.Helper()
	var task oversight.Task
	err := testkit.Until(context.Background(), 30*time.Second, nil, func(ctx context.Context) error {
		var err error
		if task, err = e.Svc.Task(ot.AsAdmin(1), id); err != nil {
			return err
		}
		if task.Status != status {
			return fmt.Errorf("task %d is %s", id, task.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return task
}
