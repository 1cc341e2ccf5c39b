package oversight_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

func ptr[T any](v T) *T { return &v }

// "Who read patient X's chart, prescriptions and lab results last week" is
// one query, across services; every filter narrows exactly.
func TestSearchAcrossServices(t *testing.T) {
	e := ot.New(t, nil)
	lastWeek := ot.Start.AddDate(0, 0, -5)
	at := func(ev audit.Event, when time.Time) audit.Event { ev.Timestamp = when; return ev }
	const patient, other = 501, 502
	events := []audit.Event{
		at(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, patient), lastWeek),
		at(ot.Event("ehr", "ehr.record.read", 12, auth.RoleNurse, patient).WithOutcome(audit.Denied), lastWeek.Add(time.Hour)),
		at(func() audit.Event {
			ev := ot.Event("ehr", "ehr.record.read", 13, auth.RoleDoctor, patient)
			ev.BreakGlass = true
			return ev.With("reason", "emergency")
		}(), lastWeek.Add(2*time.Hour)),
		at(ot.Event("pharmacy", "pharmacy.prescription.list", 14, auth.RolePharmacist, patient), lastWeek.Add(3*time.Hour)),
		at(ot.Event("lab", "lab.result.read", 11, auth.RoleDoctor, patient), lastWeek.Add(4*time.Hour)),
		// Not reads, another patient, or another week.
		at(ot.Event("pharmacy", "pharmacy.prescription.dispense", 14, auth.RolePharmacist, patient), lastWeek.Add(5*time.Hour)),
		at(ot.Event("lab", "lab.result.read", 11, auth.RoleDoctor, other), lastWeek.Add(6*time.Hour)),
		at(ot.Event("ehr", "ehr.record.read", 11, auth.RoleDoctor, patient), lastWeek.AddDate(0, 0, -10)),
		at(ot.Event("billing", "billing.invoice.read", 15, auth.RoleAdmin, patient), lastWeek.Add(7*time.Hour)),
	}
	for _, ev := range events {
		e.Ingest(ev)
	}
	admin := ot.AsAdmin(1)
	search := func(f oversight.AuditFilter) []oversight.Entry {
		t.Helper()
		out, n, err := e.Svc.SearchLog(admin, f, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(out) {
			t.Fatalf("count %d, %d results", n, len(out))
		}
		return out
	}
	actions := func(es []oversight.Entry) string {
		var s []string
		for _, x := range es {
			s = append(s, x.Action+"/"+x.Outcome)
		}
		return strings.Join(s, ",")
	}
	since, until := ot.Start.AddDate(0, 0, -7), ot.Start
	got := search(oversight.AuditFilter{PatientID: ptr(int64(patient)), Services: []string{"ehr", "pharmacy", "lab"},
		Actions: []string{"*.read", "*.list"}, Since: &since, Until: &until})
	// Newest first.
	want := "lab.result.read/SUCCESS,pharmacy.prescription.list/SUCCESS,ehr.record.read/SUCCESS,ehr.record.read/DENIED,ehr.record.read/SUCCESS"
	if actions(got) != want {
		t.Fatalf("who read the patient's chart, prescriptions and lab results last week:\n got %s\nwant %s", actions(got), want)
	}
	if got[2].BreakGlass != true || *got[2].UserID != 13 || string(got[2].Details) != `{"reason":"emergency"}` {
		t.Errorf("the break-glass read: %+v", got[2])
	}

	checks := map[string]struct {
		f    oversight.AuditFilter
		want int
	}{
		"user":              {oversight.AuditFilter{UserID: ptr(int64(11))}, 4},
		"outcome":           {oversight.AuditFilter{Outcomes: []string{audit.Denied}}, 1},
		"break glass":       {oversight.AuditFilter{BreakGlass: ptr(true)}, 1},
		"service":           {oversight.AuditFilter{Services: []string{"billing"}}, 1},
		"exact action":      {oversight.AuditFilter{Actions: []string{"pharmacy.prescription.dispense"}}, 1},
		"glob is not _":     {oversight.AuditFilter{Actions: []string{"ehr_record*"}}, 0},
		"since":             {oversight.AuditFilter{Since: ptr(lastWeek.Add(6 * time.Hour)), Until: &until}, 2},
		"until only":        {oversight.AuditFilter{Until: ptr(lastWeek)}, 1},
		"other patient":     {oversight.AuditFilter{PatientID: ptr(int64(other))}, 1},
		"object":            {oversight.AuditFilter{ObjectType: "nothing"}, 0},
		"the services' own": {oversight.AuditFilter{Until: &until}, len(events)},
	}
	for name, c := range checks {
		if got := search(c.f); len(got) != c.want {
			t.Errorf("%s: %d entries, want %d: %s", name, len(got), c.want, actions(got))
		}
	}

	// Pages.
	page2, n, err := e.Svc.SearchLog(admin, oversight.AuditFilter{PatientID: ptr(int64(patient)), Until: &until}, 3, 3)
	if err != nil || n != 8 || len(page2) != 3 {
		t.Fatalf("second page: %d of %d, %v", len(page2), n, err)
	}

	// Each search was recorded, with its filters and patient.
	searches, _, err := e.Store.Entries(context.Background(), oversight.AuditFilter{Actions: []string{"admin.audit_log.search"},
		PatientID: ptr(int64(patient))}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(searches) < 2 || *searches[len(searches)-1].UserID != 1 || searches[0].Service != oversight.ServiceName ||
		!strings.Contains(string(searches[len(searches)-1].Details), `"patient_id":501`) {
		t.Errorf("searches recorded: %+v", searches)
	}
}
