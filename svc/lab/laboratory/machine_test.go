package laboratory_test

import (
	"testing"

	"hospital/lib/apperr"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

// Every move the machines do not allow is a 409 and changes nothing.
func TestIllegalMovesAreConflicts(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Man, "CBC", "GLU")
	cbc := itemID(t, o, "CBC")
	for _, c := range []struct {
		name string
		do   func() error
		kind apperr.Kind
	}{
		{"order to PROCESSING before collection", func() error { return setStatus(e, e.Tech, o.ID, laboratory.StatusProcessing) }, apperr.KindConflict},
		{"order to RESULTS_PENDING_REVIEW by hand", func() error { return setStatus(e, e.Tech, o.ID, laboratory.StatusResultsPendingReview) }, apperr.KindConflict},
		{"order released before results", func() error { return setStatus(e, e.Doctor, o.ID, laboratory.StatusCompleted) }, apperr.KindConflict},
		{"a doctor records collection", func() error { return setStatus(e, e.Doctor, o.ID, laboratory.StatusSampleCollected) }, apperr.KindForbidden},
		{"item straight to PROCESSING", func() error { return setItem(e, o.ID, cbc, laboratory.StatusProcessing) }, apperr.KindConflict},
		{"item to COMPLETED by hand", func() error { return setItem(e, o.ID, cbc, laboratory.StatusCompleted) }, apperr.KindConflict},
		{"item to RESULTS_PENDING_REVIEW by hand", func() error { return setItem(e, o.ID, cbc, laboratory.StatusResultsPendingReview) }, apperr.KindConflict},
		{"result before the sample", func() error {
			_, err := e.Svc.EnterResult(e.As(e.Tech), o.ID, cbc, laboratory.ResultRequest{ResultValues: map[string]laboratory.AnalyteInput{"hemoglobin": {Value: fl(14)}}})
			return err
		}, apperr.KindConflict},
		{"unknown item", func() error {
			return setItem(e, o.ID, "00000000-0000-0000-0000-000000000000", laboratory.StatusSampleCollected)
		}, apperr.KindNotFound},
		{"unknown order", func() error {
			return setStatus(e, e.Tech, "0123456789abcdef01234567", laboratory.StatusSampleCollected)
		}, apperr.KindNotFound},
	} {
		wantKind(t, c.name, c.do(), c.kind)
	}
	got, err := e.Store.Order(e.As(e.Tech), o.ID)
	if err != nil || got.Version != 1 || got.Status != laboratory.StatusRequested {
		t.Fatalf("refusals changed the order: version %d %s %v", got.Version, got.Status, err)
	}
}

func setStatus(e *labtest.Env, who int64, id, to string) error {
	_, err := e.Svc.SetOrderStatus(e.As(who), id, laboratory.OrderStatusUpdate{Status: to})
	return err
}

func setItem(e *labtest.Env, id, item, to string) error {
	_, err := e.Svc.SetItemStatus(e.As(e.Tech), id, item, laboratory.ItemStatusUpdate{ItemStatus: to, SampleID: "SAMP-" + item[:4]})
	return err
}

// Items move one by one; the order follows the least advanced item, so it
// is invoiced when its last sample is in and awaits review when its last
// result is; a cancelled item is left out of both.
func TestTheOrderFollowsItsItems(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Woman, "CBC", "GLU", "CULTURE")
	cbc, glu, cul := itemID(t, o, "CBC"), itemID(t, o, "GLU"), itemID(t, o, "CULTURE")
	if err := setItem(e, o.ID, cbc, laboratory.StatusSampleCollected); err != nil {
		t.Fatal(err)
	}
	o, _ = e.Store.Order(e.As(e.Tech), o.ID)
	if o.Status != laboratory.StatusRequested || *item(o, "CBC").SampleID != "SAMP-"+cbc[:4] || len(e.Messages(t, "lab-invoice:")) != 0 {
		t.Fatalf("one sample of three: %s", o.Status)
	}
	if _, err := e.Svc.SetItemStatus(e.As(e.Tech), o.ID, cul, laboratory.ItemStatusUpdate{ItemStatus: laboratory.StatusCancelled, Reason: "No sample"}); err != nil {
		t.Fatal(err)
	}
	if err := setItem(e, o.ID, glu, laboratory.StatusSampleCollected); err != nil {
		t.Fatal(err)
	}
	o, _ = e.Store.Order(e.As(e.Tech), o.ID)
	inv := e.Messages(t, "lab-invoice:")
	if o.Status != laboratory.StatusSampleCollected || len(inv) != 1 || len(inv[0].Body["items"].([]any)) != 2 {
		t.Fatalf("all samples in, the culture cancelled: %s, %+v", o.Status, inv)
	}
	if err := setItem(e, o.ID, cbc, laboratory.StatusProcessing); err != nil {
		t.Fatal(err)
	}
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 4.4})
	if o.Status != laboratory.StatusProcessing {
		t.Fatalf("GLU resulted, CBC processing: %s", o.Status)
	}
	o = result(t, e, o, "CBC", map[string]float64{"hemoglobin": 13.0, "hematocrit": 40})
	if o.Status != laboratory.StatusResultsPendingReview || len(e.Messages(t, "lab-result-ready-doctor:")) != 1 {
		t.Fatalf("all results in: %s", o.Status)
	}
	wantKind(t, "cancel a resulted order", setStatus(e, e.Tech, o.ID, laboratory.StatusCancelled), apperr.KindConflict)
	o = status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted)
	if item(o, "CULTURE").ItemStatus != laboratory.StatusCancelled || len(e.Messages(t, "lab-ehr-reference:")) != 2 {
		t.Fatalf("released: culture %s, references %d", item(o, "CULTURE").ItemStatus, len(e.Messages(t, "lab-ehr-reference:")))
	}
	wantKind(t, "cancel a released order", setStatus(e, e.Tech, o.ID, laboratory.StatusCancelled), apperr.KindConflict)
}

// Only the ordering doctor (or the lab) cancels; cancelling every item
// cancels the order, and an order cancelled before collection is never
// invoiced.
func TestCancellation(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Man, "GLU")
	wantKind(t, "another doctor cancels", setStatus(e, e.Doctor2, o.ID, laboratory.StatusCancelled), apperr.KindForbidden)
	if denied := e.Audits(t, "lab.order.status"); len(denied) != 1 || denied[0]["outcome"] != "DENIED" {
		t.Fatalf("the refusal is audited: %v", denied)
	}
	o, err := e.Svc.SetOrderStatus(e.As(e.Doctor), o.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusCancelled, Reason: "Ordered twice"})
	if err != nil || o.Status != laboratory.StatusCancelled || o.CancelReason != "Ordered twice" || item(o, "GLU").ItemStatus != laboratory.StatusCancelled {
		t.Fatalf("cancelled: %+v %v", o, err)
	}
	wantKind(t, "collect a cancelled order", setStatus(e, e.Tech, o.ID, laboratory.StatusSampleCollected), apperr.KindConflict)

	p := e.Order(t, e.Man, "GLU", "CBC")
	for _, code := range []string{"GLU", "CBC"} {
		if _, err := e.Svc.SetItemStatus(e.As(e.Tech), p.ID, itemID(t, p, code), laboratory.ItemStatusUpdate{ItemStatus: laboratory.StatusCancelled}); err != nil {
			t.Fatal(err)
		}
	}
	p, _ = e.Store.Order(e.As(e.Tech), p.ID)
	if p.Status != laboratory.StatusCancelled || len(e.Messages(t, "lab-invoice:")) != 0 {
		t.Fatalf("every item cancelled: %s, invoices %d", p.Status, len(e.Messages(t, "lab-invoice:")))
	}
}

func TestOrdersAreCheckedBeforeTheyArePlaced(t *testing.T) {
	e := labtest.NewEnv(t)
	glu := laboratory.OrderItemRequest{TestCatalogID: e.Catalog["GLU"].ID}
	cases := map[string]struct {
		in    laboratory.OrderRequest
		field string
	}{
		"unknown patient":  {laboratory.OrderRequest{PatientID: 987654, Items: []laboratory.OrderItemRequest{glu}}, "patient_id"},
		"not a patient":    {laboratory.OrderRequest{PatientID: e.Nurse, Items: []laboratory.OrderItemRequest{glu}}, "patient_id"},
		"inactive patient": {laboratory.OrderRequest{PatientID: e.Inactive, Items: []laboratory.OrderItemRequest{glu}}, "patient_id"},
		"another doctor":   {laboratory.OrderRequest{PatientID: e.Man, DoctorID: e.Doctor2, Items: []laboratory.OrderItemRequest{glu}}, "doctor_id"},
		"a test twice":     {laboratory.OrderRequest{PatientID: e.Man, Items: []laboratory.OrderItemRequest{glu, glu}}, "items[1].test_catalog_id"},
		"unknown test": {laboratory.OrderRequest{PatientID: e.Man, Items: []laboratory.OrderItemRequest{
			{TestCatalogID: "0123456789abcdef01234567"}}}, "items[0].test_catalog_id"},
	}
	for name, c := range cases {
		_, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", c.in)
		if ae, ok := apperr.As(err); !ok || ae.Fields[c.field] == nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n, _ := e.Store.CountOrders(e.As(e.Admin), laboratory.StatusRequested); n != 0 {
		t.Fatalf("refused orders placed %d", n)
	}
	o, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", laboratory.OrderRequest{PatientID: e.Man, DoctorID: e.Doctor,
		EHREncounterID: "enc-42", Items: []laboratory.OrderItemRequest{glu, {TestCatalogID: e.Catalog["CBC"].ID, Priority: "URGENT"}}})
	if err != nil || o.Priority != laboratory.PriorityUrgent || item(o, "GLU").Priority != laboratory.PriorityRoutine ||
		o.EHREncounterID == nil || *o.EHREncounterID != "enc-42" {
		t.Fatalf("an urgent item makes the order urgent: %+v %v", o, err)
	}
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 5})
	o = result(t, e, o, "CBC", map[string]float64{"hemoglobin": 15})
	status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted)
	refs := e.Messages(t, "lab-ehr-reference:")
	if len(refs) != 2 {
		t.Fatalf("references: %d", len(refs))
	}
	for _, r := range refs {
		if r.Body["ehr_encounter_id"] != "enc-42" || r.Body["lab_order_id"] != o.ID {
			t.Fatalf("the order's encounter goes with each reference: %v", r.Body)
		}
	}
}

// The work list: REQUESTED and SAMPLE_COLLECTED orders only, URGENT first,
// then the oldest.
func TestPendingIsUrgentFirstThenOldest(t *testing.T) {
	e := labtest.NewEnv(t)
	urgent := laboratory.OrderRequest{PatientID: e.Woman, Priority: "URGENT", Items: []laboratory.OrderItemRequest{{TestCatalogID: e.Catalog["GLU"].ID}}}
	old := e.Order(t, e.Man, "GLU")
	e.Clock.Advance(60_000_000_000)
	collected := e.Order(t, e.Man, "CBC")
	status(t, e, e.Tech, collected.ID, laboratory.StatusSampleCollected)
	e.Clock.Advance(60_000_000_000)
	u, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", urgent)
	if err != nil {
		t.Fatal(err)
	}
	processing := e.Order(t, e.Man, "CULTURE")
	status(t, e, e.Tech, processing.ID, laboratory.StatusSampleCollected)
	status(t, e, e.Tech, processing.ID, laboratory.StatusProcessing)
	got, n, err := e.Svc.Pending(e.As(e.Tech), 20, 0)
	if err != nil || n != 3 || got[0].ID != u.ID || got[1].ID != old.ID || got[2].ID != collected.ID {
		t.Fatalf("pending: %d %v %v", n, ids(got), err)
	}
	for _, c := range []struct{ limit, offset, n, count int }{{2, 0, 2, 3}, {2, 2, 1, 3}, {2, 4, 0, 3}, {3, 0, 3, 3}, {5, 0, 3, 3}} {
		page, count, err := e.Svc.Pending(e.As(e.Tech), c.limit, c.offset)
		if err != nil || len(page) != c.n || count != c.count {
			t.Fatalf("page of %d from %d: %d orders of %d, want %d of %d (%v)", c.limit, c.offset, len(page), count, c.n, c.count, err)
		}
	}
	if page, _, _ := e.Svc.Pending(e.As(e.Tech), 2, 2); page[0].ID != collected.ID {
		t.Fatalf("second page: %v", ids(page))
	}
	d, err := e.Svc.Dashboard(labtest.AsService("admin"))
	if err != nil || d.OrdersPending != 3 || d.OrdersRequested != 2 || d.OrdersProcessing != 1 || d.CatalogTestsActive != 3 {
		t.Fatalf("dashboard: %+v %v", d, err)
	}
}

func ids(os []laboratory.Order) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	return out
}
