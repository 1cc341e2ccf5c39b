package laboratory_test

import (
	"sync"
	"testing"

	"hospital/lib/apperr"
	"hospital/svc/lab/laboratory"
	"hospital/svc/lab/laboratory/labtest"
)

func albumin(code string) laboratory.CatalogTestRequest {
	return laboratory.CatalogTestRequest{TestCode: code, TestName: "Albumin", Price: "60000", SampleTypeRequired: "Serum",
		NormalRangesTemplate: map[string]laboratory.AnalyteTemplate{"albumin": {Unit: "g/L", Ranges: laboratory.Ranges{Min: fl(35), Max: fl(50)}}}}
}

// One test per code, however the code is written and however many admins
// create it at once (its id is derived from the code: a unique insert).
func TestATestCodeIsTakenOnce(t *testing.T) {
	e := labtest.NewEnv(t)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, dups int
	)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Svc.CreateTest(e.As(e.Admin), albumin([]string{"ALB", " alb "}[i%2]))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if ae, isApp := apperr.As(err); isApp && ae.Fields["test_code"] != nil {
				dups++
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || dups != 9 {
		t.Fatalf("%d created, %d refused", ok, dups)
	}
	list, n, err := e.Svc.Tests(e.As(e.Doctor), false, 20, 0)
	if err != nil || n != 4 || list[0].TestCode != "ALB" || list[0].Price != "60000.00" {
		t.Fatalf("catalog: %d %+v %v", n, list, err)
	}
	for name, in := range map[string]laboratory.CatalogTestRequest{
		"bad code":  albumin("A B"),
		"price":     func() laboratory.CatalogTestRequest { r := albumin("ALB2"); r.Price = "1.005"; return r }(),
		"negative":  func() laboratory.CatalogTestRequest { r := albumin("ALB2"); r.Price = "-1"; return r }(),
		"float-ish": func() laboratory.CatalogTestRequest { r := albumin("ALB2"); r.Price = "1e5"; return r }(),
		"bad template": func() laboratory.CatalogTestRequest {
			r := albumin("ALB2")
			r.NormalRangesTemplate["albumin"] = laboratory.AnalyteTemplate{Unit: "g/L", Ranges: laboratory.Ranges{Min: fl(50), Max: fl(35)}}
			return r
		}(),
		"blank name": func() laboratory.CatalogTestRequest { r := albumin("ALB2"); r.TestName = "  "; return r }(),
	} {
		if _, err := e.Svc.CreateTest(e.As(e.Admin), in); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// DELETE retires: the test is no longer listed or orderable, but an order
// that uses it goes on to its results and release; PUT brings it back. A
// code never changes; a new price applies to new orders only.
func TestRetiredTestsServeTheOrdersThatUseThem(t *testing.T) {
	e := labtest.NewEnv(t)
	glu := e.Catalog["GLU"]
	open := e.Order(t, e.Man, "GLU")
	if err := e.Svc.RetireTest(e.As(e.Admin), glu.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.RetireTest(e.As(e.Admin), glu.ID); err != nil {
		t.Fatalf("retiring again: %v", err)
	}
	if _, n, _ := e.Svc.Tests(e.As(e.Admin), false, 20, 0); n != 2 {
		t.Fatalf("listed after retiring: %d", n)
	}
	if all, n, _ := e.Svc.Tests(e.As(e.Admin), true, 20, 0); n != 3 || all[2].TestCode != "GLU" || all[2].IsActive || all[2].RetiredAt == nil {
		t.Fatalf("listed with retired: %d %v", n, all)
	}
	_, _, err := e.Svc.CreateOrder(e.As(e.Doctor), "", laboratory.OrderRequest{PatientID: e.Man,
		Items: []laboratory.OrderItemRequest{{TestCatalogID: glu.ID}}})
	if ae, ok := apperr.As(err); !ok || ae.Fields["items[0].test_catalog_id"] == nil {
		t.Fatalf("ordering a retired test: %v", err)
	}
	status(t, e, e.Tech, open.ID, laboratory.StatusSampleCollected)
	o := result(t, e, open, "GLU", map[string]float64{"glucose": 7.0})
	if *item(o, "GLU").Result.ResultValues["glucose"].Flag != laboratory.FlagHigh {
		t.Fatal("the retired test's template no longer judges its open order")
	}
	status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted)

	req := laboratory.CatalogTestRequest{TestCode: "glu", TestName: "Fasting Plasma Glucose", Price: "90000.00", IsActive: ptr(true),
		NormalRangesTemplate: map[string]laboratory.AnalyteTemplate{"glucose": {Unit: "mmol/L", Ranges: laboratory.Ranges{Min: fl(3.9), Max: fl(7.5)}}}}
	back, err := e.Svc.UpdateTest(e.As(e.Admin), glu.ID, req)
	if err != nil || !back.IsActive || back.RetiredAt != nil || back.Price != "90000.00" || back.TestName != "Fasting Plasma Glucose" {
		t.Fatalf("restored: %+v %v", back, err)
	}
	again := e.Order(t, e.Man, "GLU")
	if item(again, "GLU").Price != "90000.00" || item(o, "GLU").Price != "80000.00" {
		t.Fatal("prices: new orders take the new price, placed ones keep theirs")
	}
	status(t, e, e.Tech, again.ID, laboratory.StatusSampleCollected)
	again = result(t, e, again, "GLU", map[string]float64{"glucose": 7.0})
	if *item(again, "GLU").Result.ResultValues["glucose"].Flag != laboratory.FlagNormal {
		t.Fatal("a result after the template changed is judged by the new one")
	}
	req.TestCode = "GLUCOSE"
	if _, err := e.Svc.UpdateTest(e.As(e.Admin), glu.ID, req); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("changing the code: %v", err)
	}
	if _, err := e.Svc.Test(e.As(e.Admin), "0123456789abcdef01234567"); !apperr.Is(err, apperr.KindNotFound) {
		t.Fatalf("unknown test: %v", err)
	}
	if n := len(e.Audits(t, "lab.catalog.retire")); n != 1 {
		t.Fatalf("retirements audited: %d", n)
	}
}

func ptr[T any](v T) *T { return &v }

// Patients read their own released results only; every read and every
// refusal is audited.
func TestPatientsReadTheirOwnReleasedResults(t *testing.T) {
	e := labtest.NewEnv(t)
	o := e.Order(t, e.Man, "GLU")
	status(t, e, e.Tech, o.ID, laboratory.StatusSampleCollected)
	o = result(t, e, o, "GLU", map[string]float64{"glucose": 5})
	_, _, err := e.Svc.PatientResults(e.As(e.Woman), e.Man, "", 20, 0)
	wantKind(t, "another patient's list", err, apperr.KindForbidden)
	_, _, err = e.Svc.PatientResults(e.As(e.Man), e.Man, laboratory.StatusResultsPendingReview, 20, 0)
	wantKind(t, "a patient asks for unreleased results", err, apperr.KindForbidden)
	if list, n, err := e.Svc.PatientResults(e.As(e.Nurse), e.Man, laboratory.StatusResultsPendingReview, 20, 0); err != nil || n != 1 || list[0].ID != o.ID {
		t.Fatalf("a nurse sees results awaiting review: %d %v", n, err)
	}
	status(t, e, e.Doctor, o.ID, laboratory.StatusCompleted)
	_, err = e.Svc.OrderResults(e.As(e.Woman), o.ID)
	wantKind(t, "another patient's order", err, apperr.KindForbidden)
	if got, err := e.Svc.OrderResults(e.As(e.Man), o.ID); err != nil || got.ID != o.ID {
		t.Fatalf("own released order: %v", err)
	}
	denied, granted := 0, 0
	for _, action := range []string{"lab.results.list", "lab.results.read"} {
		for _, a := range e.Audits(t, action) {
			if a["patient_id"].(float64) != float64(e.Man) {
				t.Fatalf("audit on another patient: %v", a)
			}
			if a["outcome"] == "DENIED" {
				denied++
			} else {
				granted++
			}
		}
	}
	if denied != 3 || granted != 2 {
		t.Fatalf("audited reads: %d denied, %d granted", denied, granted)
	}
}
