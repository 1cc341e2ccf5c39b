package dispensing_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apitest"
	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// instances returns n services of one Env, each with its own connection
// pool to the same database, as n instances of the service would be.
func instances(e *dt.Env, n int) []*dispensing.Service {
	out := []*dispensing.Service{e.Svc}
	for len(out) < n {
		svc, _ := e.Instance()
		out = append(out, svc)
	}
	return out
}

// race runs the dispenses at once, one goroutine each, spread over the
// instances, and returns each one's status.
func race(e *dt.Env, svcs []*dispensing.Service, ps []dispensing.Prescription, qty []int64) []int {
	statuses := make([]int, len(ps))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pharmacist := e.PharmacistA
			if i%2 == 1 {
				pharmacist = e.PharmacistB
			}
			in := dispensing.DispenseRequest{}
			for _, it := range p.Items {
				in.ItemsDispensed = append(in.ItemsDispensed, dispensing.DispenseItemRequest{PrescriptionItemIDRef: it.ItemID, QuantityDispensed: qty[i]})
			}
			_, err := svcs[i%len(svcs)].Dispense(e.As(pharmacist), p.ID, "", in)
			statuses[i] = apitest.Status(err)
			if err != nil && dt.Code(err) != "insufficient_stock" {
				e.T.Errorf("dispense %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// Fifty dispenses of the last twenty units, each from its own prescription,
// on five instances at once: exactly twenty succeed, the stock ends at zero
// and every unit is accounted for in the ledger. On FerretDB an update is
// not atomic against another (docs/ARCHITECTURE.md): a conditional
// decrement would oversell here.
func TestFiftyConcurrentDispensesOfTheLastUnitsNeverOversell(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P-LATE", 8, 200)
	e.Receive(para.ID, "P-EARLY", 12, 100)
	ps := make([]dispensing.Prescription, 50)
	qty := make([]int64, 50)
	for i := range ps {
		ps[i] = e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 1})
		qty[i] = 1
	}

	statuses := race(e, instances(e, 5), ps, qty)
	ok := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("dispense %d: %d", i, s)
		}
	}
	if ok != 20 {
		t.Fatalf("%d dispenses succeeded, stock allowed 20", ok)
	}
	st := checkInvariant(t, e, para.ID)
	if st.QuantityOnHand != 0 || len(st.ExpiryDates) != 0 {
		t.Fatalf("stock left: %+v", st)
	}
	if n := e.Count("dispense_logs", bson.D{}); n != 20 {
		t.Fatalf("%d dispense logs", n)
	}
	if n := e.Count("stock_movements", bson.D{{Key: "kind", Value: dispensing.MovementDispense}}); n != 20 {
		t.Fatalf("%d dispense movements", n)
	}
	if n := e.Count("outbox_messages", bson.D{{Key: "target", Value: "billing"}}); n != 20 {
		t.Fatalf("%d invoice requests", n)
	}
	for i, p := range ps {
		got, err := e.Store.Prescription(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := dispensing.StatusVerified
		if statuses[i] == http.StatusOK {
			want = dispensing.StatusDispensedFull
		}
		if got.Status != want || len(got.Pending) != 0 || got.Dispensing {
			t.Fatalf("prescription %d: %s, %d pending", i, got.Status, len(got.Pending))
		}
	}
}

// Dispenses of several units each, of two medications at once: what
// succeeds never exceeds the stock, every refusal asked for more than what
// was left, and a refusal for lack of one medication puts back what it took
// of the other.
func TestConcurrentDispensesOfTwoMedicationsPutBackWhatTheyCannotComplete(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	amox := e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500")
	e.Receive(para.ID, "P1", 1000, 200)
	e.Receive(amox.ID, "A1", 25, 100)
	e.Receive(amox.ID, "A2", 15, 300)
	ps := make([]dispensing.Prescription, 40)
	qty := make([]int64, 40)
	for i := range ps {
		qty[i] = int64(1 + i%3)
		ps[i] = e.Prescription(e.Patient2, e.DoctorB, dispensing.StatusVerified,
			dt.Line{Medication: para, Quantity: qty[i]}, dt.Line{Medication: amox, Quantity: qty[i]})
	}

	statuses := race(e, instances(e, 4), ps, qty)
	var given int64
	for i, s := range statuses {
		if s == http.StatusOK {
			given += qty[i]
		}
	}
	am, pa := checkInvariant(t, e, amox.ID), checkInvariant(t, e, para.ID)
	if given > 40 || am.QuantityOnHand != 40-given {
		t.Fatalf("dispensed %d of 40 amoxicillin, %d left", given, am.QuantityOnHand)
	}
	if pa.QuantityOnHand != 1000-given {
		t.Fatalf("paracetamol: %d left after dispensing %d (what refused dispenses took was not put back)", pa.QuantityOnHand, given)
	}
	for i, s := range statuses {
		if s == http.StatusConflict && qty[i] <= am.QuantityOnHand {
			t.Fatalf("dispense %d of %d refused, yet %d are left", i, qty[i], am.QuantityOnHand)
		}
	}
	if given < 40-2 {
		t.Fatalf("only %d of 40 dispensed: a refusal left stock behind", given)
	}
}
