package laboratory_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/problem"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

// Technicians working on the items of one order at the same time, on two
// instances of the service: every change lands (none is lost to another's
// write, as FerretDB's read-modify-write updates would lose them), the order
// is invoiced once with every test, and the doctor is told once.
func TestTechniciansWorkOnOneOrderAtOnce(t *testing.T) {
	e := labtest.NewEnv(t)
	svcs := []*laboratory.Service{e.Svc, e.Instance(t)}
	const tests = 12
	in := laboratory.OrderRequest{PatientID: e.Woman}
	for i := range tests {
		tt, err := e.Svc.CreateTest(e.As(e.Admin), laboratory.CatalogTestRequest{TestCode: fmt.Sprintf("T%02d", i), TestName: fmt.Sprintf("Test %d", i),
			Price: "10000.00", NormalRangesTemplate: map[string]laboratory.AnalyteTemplate{"x": {Unit: "U", Ranges: laboratory.Ranges{Min: fl(1), Max: fl(2)}}}})
		if err != nil {
			t.Fatal(err)
		}
		in.Items = append(in.Items, laboratory.OrderItemRequest{TestCatalogID: tt.ID})
	}
	o, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, tests)
	for i, it := range o.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc, tech := svcs[i%2], e.As([]int64{e.Tech, e.Tech2}[i%2])
			for _, to := range []string{laboratory.StatusSampleCollected, laboratory.StatusProcessing} {
				if _, err := svc.SetItemStatus(tech, o.ID, it.ItemID, laboratory.ItemStatusUpdate{ItemStatus: to}); err != nil {
					errs <- fmt.Errorf("item %d to %s: %w", i, to, err)
					return
				}
			}
			_, err := svc.EnterResult(tech, o.ID, it.ItemID, laboratory.ResultRequest{
				ResultValues: map[string]laboratory.AnalyteInput{"x": {Value: fl(float64(i%3) + 0.5)}}})
			if err != nil {
				errs <- fmt.Errorf("item %d result: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := e.Store.Order(e.As(e.Tech), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != laboratory.StatusResultsPendingReview || got.Version != 1+3*tests {
		t.Fatalf("after %d changes: %s at version %d", 3*tests, got.Status, got.Version)
	}
	for _, it := range got.Items {
		if it.ItemStatus != laboratory.StatusResultsPendingReview || it.Result == nil {
			t.Fatalf("item %s: %s", it.TestCode, it.ItemStatus)
		}
	}
	inv := e.Messages(t, "lab-invoice:")
	if len(inv) != 1 || len(inv[0].Body["items"].([]any)) != tests {
		t.Fatalf("invoice requests: %d", len(inv))
	}
	if n := len(e.Messages(t, "lab-result-ready-doctor:")); n != 1 {
		t.Fatalf("doctor told %d times", n)
	}
	if n := len(e.Audits(t, "lab.result.enter")); n != tests {
		t.Fatalf("results audited: %d", n)
	}

	// Two doctors release at once, twice each: one release, one patient
	// notice, one reference per item.
	var rel sync.WaitGroup
	for i := range 4 {
		rel.Add(1)
		go func() {
			defer rel.Done()
			doc := []int64{e.Doctor, e.Doctor2}[i%2]
			if _, err := svcs[i%2].SetOrderStatus(e.As(doc), o.ID, laboratory.OrderStatusUpdate{Status: laboratory.StatusCompleted}); err != nil {
				t.Error(err)
			}
		}()
	}
	rel.Wait()
	if n := len(e.Messages(t, "lab-result-ready-patient:")); n != 1 {
		t.Fatalf("patient told %d times", n)
	}
	if n := len(e.Messages(t, "lab-ehr-reference:")); n != tests {
		t.Fatalf("EHR references: %d, want %d", n, tests)
	}
	released := 0
	for _, a := range e.Audits(t, "lab.order.status") {
		if a["details"].(map[string]any)["to"] == laboratory.StatusCompleted {
			released++
		}
	}
	if released != 1 {
		t.Fatalf("releases recorded: %d", released)
	}
}

// A doctor's order retried under one Idempotency-Key, even all at once,
// places one order; the key reused for another order is refused.
func TestAnOrderRetriedIsPlacedOnce(t *testing.T) {
	e := labtest.NewEnv(t)
	in := laboratory.OrderRequest{PatientID: e.Man, Items: []laboratory.OrderItemRequest{{TestCatalogID: e.Catalog["CBC"].ID}}}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]int{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, st, err := e.Svc.CreateOrder(e.As(e.Doctor), "order-7f3a", in)
			if apperr.Is(err, apperr.KindConflict) {
				return // "being processed": the client retries
			}
			if err != nil || st != http.StatusCreated {
				t.Error(st, err)
				return
			}
			mu.Lock()
			seen[o.ID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 1 {
		t.Fatalf("orders placed: %v", seen)
	}
	if n, _ := e.Store.CountOrders(e.As(e.Admin), laboratory.StatusRequested); n != 1 {
		t.Fatalf("%d orders stored", n)
	}
	again, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "order-7f3a", in)
	if err != nil || seen[again.ID] == 0 {
		t.Fatalf("a later retry: %v %v", again.ID, err)
	}
	other := in
	other.PatientID = e.Woman
	_, _, err = e.Svc.CreateOrder(e.As(e.Doctor), "order-7f3a", other)
	if p, ok := problem.FromError(err); !ok || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("same key, another order: %v", err)
	}
	// The key is the doctor's own: another doctor's same key is another order.
	o2, _, err := e.Svc.CreateOrder(e.As(e.Doctor2), "order-7f3a", in)
	if err != nil || seen[o2.ID] != 0 {
		t.Fatalf("another doctor's key: %v %v", o2.ID, err)
	}
	if n := len(e.Audits(t, "lab.order.create")); n != 2 {
		t.Fatalf("orders audited: %d", n)
	}
}
