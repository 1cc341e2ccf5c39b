package dispensing_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// A dispense a crash interrupted is rolled back when it was not recorded
// (its stock is put back, its reservation dropped) and finished when it was
// (its prescription updated, its invoice requested), once its lease is over.
func TestRecoverySettlesInterruptedDispenses(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	amox := e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500")
	e.Receive(para.ID, "P1", 100, 100)
	e.Receive(amox.ID, "A1", 100, 100)
	rx := func() dispensing.Prescription {
		return e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 10}, dt.Line{Medication: amox, Quantity: 10})
	}
	crashes := map[int]dispensing.Prescription{dispensing.AfterReserve: rx(), dispensing.AfterTake: rx(), dispensing.AfterCommit: rx()}
	ids := map[int]string{}
	for at, p := range crashes {
		ids[at] = fmt.Sprintf("%024d", at)
		if err := e.Svc.Interrupt(ph, p.ID, ids[at], lines(p, 4, 6), at); err != nil {
			t.Fatal(err)
		}
	}
	// The crash after taking stock also lost a ledger copy.
	if _, err := e.DB.Collection("stock_movements").DeleteMany(context.Background(),
		bson.D{{Key: "dispense_log_id", Value: ids[dispensing.AfterTake]}, {Key: "medication_id", Value: amox.ID}}); err != nil {
		t.Fatal(err)
	}
	if st := e.Stock(para.ID); st.QuantityOnHand != 92 {
		t.Fatalf("interrupted dispenses took %d", 100-st.QuantityOnHand)
	}
	// Reserved quantities hold while the dispense is under way.
	_, err := e.Svc.Dispense(ph, crashes[dispensing.AfterTake].ID, "", lines(crashes[dispensing.AfterTake], 7))
	e.Expect("more than is left with a dispense under way", err, http.StatusConflict)

	if n, err := e.Svc.RecoverDispenses(context.Background()); n != 0 || err != nil {
		t.Fatalf("recovered %d (%v) before the leases ran out", n, err)
	}
	e.Clock.Advance(e.Cfg.DispenseLease + time.Second)
	// One is still worked on by someone holding its lease.
	release, err := e.Store.Lease(context.Background(), "dispense:"+ids[dispensing.AfterReserve], time.Minute)
	if err != nil || release == nil {
		t.Fatalf("lease: %v", err)
	}
	if n, err := e.Svc.RecoverDispenses(context.Background()); n != 2 || err != nil {
		t.Fatalf("recovered %d (%v), want the two without a live lease", n, err)
	}
	release(context.Background())
	if n, err := e.Svc.RecoverDispenses(context.Background()); n != 1 || err != nil {
		t.Fatalf("recovered %d (%v) once the lease was released", n, err)
	}
	if n, _ := e.Svc.RecoverDispenses(context.Background()); n != 0 {
		t.Fatalf("a second pass recovered %d", n)
	}

	for at, p := range crashes {
		got, _ := e.Store.Prescription(context.Background(), p.ID)
		if len(got.Pending) != 0 || got.Dispensing {
			t.Fatalf("crash %d: still pending", at)
		}
		_, recorded := e.Message("dispense-invoice:" + ids[at])
		if at == dispensing.AfterCommit {
			if got.Status != dispensing.StatusDispensedPartial || got.Items[0].QuantityDispensed != 4 || len(got.DispenseHistory) != 1 || !recorded {
				t.Fatalf("the recorded dispense was not finished: %+v", got)
			}
		} else if got.Status != dispensing.StatusVerified || got.Items[0].QuantityDispensed != 0 || recorded {
			t.Fatalf("crash %d: the unrecorded dispense was not rolled back: %+v", at, got)
		}
	}
	pa, am := checkInvariant(t, e, para.ID), checkInvariant(t, e, amox.ID)
	if pa.QuantityOnHand != 96 || am.QuantityOnHand != 94 {
		t.Fatalf("after recovery: paracetamol %d, amoxicillin %d", pa.QuantityOnHand, am.QuantityOnHand)
	}
	if n := e.Count("stock_movements", bson.D{{Key: "kind", Value: dispensing.MovementDispenseReversal}}); n != 2 {
		t.Fatalf("%d reversals, want one per medication of the dispense that took stock", n)
	}
}

// A dispense with an Idempotency-Key whose first attempt died is run again
// by the retry with the same key: once the lease is over, the retry rolls
// the remains back and dispenses once.
func TestARetriedKeyAfterACrashDispensesOnce(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P1", 50, 100)
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 10})
	id := dispensing.DispenseIDForKey(e.PharmacistA, p.ID, "retry-me")
	if err := e.Svc.Interrupt(ph, p.ID, id, lines(p, 10), dispensing.AfterTake); err != nil {
		t.Fatal(err)
	}
	res, err := e.Svc.Dispense(ph, p.ID, "retry-me", lines(p, 10))
	if err != nil || res.Value.ID != id {
		t.Fatalf("retry: %v %+v", err, res.Value)
	}
	got, _ := e.Store.Prescription(context.Background(), p.ID)
	if got.Status != dispensing.StatusDispensedFull || len(got.Pending) != 0 || len(got.DispenseHistory) != 1 {
		t.Fatalf("after the retry: %+v", got)
	}
	if st := checkInvariant(t, e, para.ID); st.QuantityOnHand != 40 {
		t.Fatalf("on hand %d after one dispense of 10", st.QuantityOnHand)
	}
}
