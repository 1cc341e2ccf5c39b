package dispensing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// checkInvariant fails the test unless the record's quantity on hand is the
// sum of its batches and its ledger replays to it.
func checkInvariant(t *testing.T, e *dt.Env, medicationID string) dispensing.Stock {
	t.Helper()
	st := e.Stock(medicationID)
	var sum int64
	for _, b := range st.ExpiryDates {
		if b.Quantity <= 0 {
			t.Fatalf("batch %s kept with %d", b.BatchNumber, b.Quantity)
		}
		sum += b.Quantity
	}
	if sum != st.QuantityOnHand {
		t.Fatalf("quantity_on_hand %d, batches sum to %d", st.QuantityOnHand, sum)
	}
	ms, n, err := e.Svc.Movements(e.As(e.PharmacistA), medicationID, dispensing.MovementFilter{}, dispensing.Page{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if int64(n) != st.Version {
		t.Fatalf("%d movements for version %d", n, st.Version)
	}
	perBatch := map[string]int64{}
	var total int64
	for i, m := range ms {
		if m.Sequence != st.Version-int64(i) {
			t.Fatalf("movement %d has sequence %d", i, m.Sequence)
		}
		var q int64
		for _, b := range m.Batches {
			perBatch[b.BatchNumber] += b.Quantity
			q += b.Quantity
		}
		if q != m.Quantity {
			t.Fatalf("movement %s: quantity %d, batches sum to %d", m.ID, m.Quantity, q)
		}
		total += m.Quantity
	}
	if total != st.QuantityOnHand {
		t.Fatalf("the ledger adds up to %d, on hand %d", total, st.QuantityOnHand)
	}
	for _, b := range st.ExpiryDates {
		if perBatch[b.BatchNumber] != b.Quantity {
			t.Fatalf("batch %s: ledger %d, on hand %d", b.BatchNumber, perBatch[b.BatchNumber], b.Quantity)
		}
		delete(perBatch, b.BatchNumber)
	}
	for batch, q := range perBatch {
		if q != 0 {
			t.Fatalf("batch %s gone from stock, ledger says %d", batch, q)
		}
	}
	return st
}

func TestStockReceiptsAdjustmentsWriteOffsAndTheirLedger(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	amox := e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500")

	v := e.Receive(amox.ID, "B-LATE", 60, 200)
	v = e.Receive(amox.ID, "B-SOON", 40, 5)
	if v.QuantityOnHand != 100 || len(v.ExpiryDates) != 2 || v.ExpiryDates[0].BatchNumber != "B-SOON" {
		t.Fatalf("after two receipts: %+v", v)
	}
	if len(v.ExpiringBatches) != 1 || v.ExpiringBatches[0].BatchNumber != "B-SOON" || v.QuantityAvailable != 100 {
		t.Fatalf("expiring within 30 days: %+v", v.ExpiringBatches)
	}
	v = e.Receive(amox.ID, "B-LATE", 10, 200) // the same batch again
	if v.QuantityOnHand != 110 || len(v.ExpiryDates) != 2 {
		t.Fatalf("more of a batch on hand: %+v", v)
	}

	for what, in := range map[string]dispensing.StockUpdate{
		"expiry today":          {BatchNumber: "B-X", Quantity: 5, ExpiryDate: e.Day(0)},
		"no quantity":           {BatchNumber: "B-X", ExpiryDate: e.Day(10)},
		"no batch number":       {Quantity: 5, ExpiryDate: e.Day(10)},
		"bad date":              {BatchNumber: "B-X", Quantity: 5, ExpiryDate: "31/12/2027"},
		"two movements":         {BatchNumber: "B-X", Quantity: 5, ExpiryDate: e.Day(10), WriteOffExpired: true},
		"nothing":               {},
		"adjust unknown batch":  {Adjustments: []dispensing.Adjustment{{BatchNumber: "B-NONE", QuantityChange: 1, Reason: "count"}}},
		"adjust below zero":     {Adjustments: []dispensing.Adjustment{{BatchNumber: "B-SOON", QuantityChange: -41, Reason: "count"}}},
		"adjust without reason": {Adjustments: []dispensing.Adjustment{{BatchNumber: "B-SOON", QuantityChange: -1}}},
	} {
		_, err := e.Svc.UpdateStock(ph, amox.ID, in)
		e.Expect(what, err, http.StatusBadRequest)
	}
	_, err := e.Svc.UpdateStock(ph, amox.ID, dispensing.StockUpdate{BatchNumber: "B-LATE", Quantity: 5, ExpiryDate: e.Day(201)})
	e.Expect("a batch on hand with another expiry date", err, http.StatusConflict)
	_, err = e.Svc.UpdateStock(ph, "0123456789abcdef01234567", dispensing.StockUpdate{BatchNumber: "B", Quantity: 5, ExpiryDate: e.Day(10)})
	e.Expect("a medication not in the catalog", err, http.StatusNotFound)
	checkInvariant(t, e, amox.ID)
	if st := e.Stock(amox.ID); st.Version != 3 {
		t.Fatalf("refused changes recorded something: version %d", st.Version)
	}

	v, err = e.Svc.UpdateStock(ph, amox.ID, dispensing.StockUpdate{Reason: "stocktake", Adjustments: []dispensing.Adjustment{
		{BatchNumber: "B-SOON", QuantityChange: -3, Reason: "broken"}, {BatchNumber: "B-LATE", QuantityChange: 2, Reason: "found"}}})
	if err != nil || v.QuantityOnHand != 109 {
		t.Fatalf("adjustments: %v %+v", err, v)
	}
	v, err = e.Svc.UpdateStock(e.As(e.Admin), amox.ID, dispensing.StockUpdate{ReorderLevel: new(int64(20))})
	if err != nil || v.ReorderLevel != 20 || v.IsLowStock {
		t.Fatalf("reorder level: %v %+v", err, v)
	}

	// Ten days on, B-SOON has expired: it is no longer available, and the
	// write-off removes it.
	e.Clock.Advance(10 * 24 * time.Hour)
	st := e.Stock(amox.ID)
	views, _, err := e.Svc.StockList(ph, dispensing.StockFilter{}, dispensing.Page{Limit: 20})
	if err != nil || len(views) != 1 || views[0].QuantityAvailable != 72 || views[0].QuantityExpired != 37 {
		t.Fatalf("stock list after expiry: %v %+v", err, views)
	}
	v, err = e.Svc.UpdateStock(ph, amox.ID, dispensing.StockUpdate{WriteOffExpired: true})
	if err != nil || v.QuantityOnHand != 72 || len(v.ExpiryDates) != 1 {
		t.Fatalf("write-off: %v %+v", err, v)
	}
	v, err = e.Svc.UpdateStock(ph, amox.ID, dispensing.StockUpdate{WriteOffExpired: true})
	if err != nil || v.Version != st.Version+1 {
		t.Fatalf("a second write-off with nothing expired records nothing: %v version %d", err, v.Version)
	}

	st = checkInvariant(t, e, amox.ID)
	ms, _, _ := e.Svc.Movements(ph, amox.ID, dispensing.MovementFilter{}, dispensing.Page{Limit: 100})
	var kinds []string
	for _, m := range ms {
		kinds = append(kinds, m.Kind)
	}
	if got := strings.Join(kinds, ","); got != "EXPIRY_WRITE_OFF,REORDER_LEVEL,ADJUSTMENT,RECEIPT,RECEIPT,RECEIPT" {
		t.Fatalf("stock card: %s", got)
	}
	if ms[0].ActorID != e.PharmacistA || ms[0].ActorRole != "PHARMACIST" || ms[1].ActorID != e.Admin || ms[2].Reason != "B-SOON: broken; B-LATE: found; stocktake" {
		t.Fatalf("who and why: %+v %+v %+v", ms[0], ms[1], ms[2])
	}
	only, n, _ := e.Svc.Movements(ph, amox.ID, dispensing.MovementFilter{Kind: dispensing.MovementReceipt}, dispensing.Page{Limit: 100})
	if n != 3 || len(only) != 3 {
		t.Fatalf("receipts only: %d", n)
	}
	if st.LastStockedDate == nil {
		t.Fatal("last_stocked_date not set by a receipt")
	}
}

// A ledger copy a crash missed is made from the versions when the ledger
// is read.
func TestTheLedgerIsRepairedFromTheVersions(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "B1", 10, 100)
	e.Receive(para.ID, "B2", 10, 100)
	e.Receive(para.ID, "B3", 10, 100)
	if _, err := e.DB.Collection("stock_movements").DeleteOne(context.Background(), bson.D{{Key: "_id", Value: para.ID + "#2"}}); err != nil {
		t.Fatal(err)
	}
	if e.Count("stock_movements", bson.D{{Key: "medication_id", Value: para.ID}}) != 2 {
		t.Fatal("the copy is not gone")
	}
	checkInvariant(t, e, para.ID)
}

func TestWriteOffJobAndDashboard(t *testing.T) {
	e := dt.New(t, nil)
	a := e.Medication("A1", "Alpha", "Alpha", "10")
	b := e.Medication("B1", "Beta", "Beta", "10")
	e.Receive(a.ID, "A-OLD", 5, 3)
	e.Receive(a.ID, "A-NEW", 50, 300)
	e.Receive(b.ID, "B-OLD", 7, 3)
	e.Receive(b.ID, "B-MID", 7, 20)
	if _, err := e.Svc.UpdateStock(e.As(e.PharmacistA), b.ID, dispensing.StockUpdate{ReorderLevel: new(int64(10))}); err != nil {
		t.Fatal(err)
	}
	e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: a, Quantity: 1})
	e.Prescription(e.Patient2, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: a, Quantity: 1})
	e.Prescription(e.Patient2, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: a, Quantity: 1})

	d, err := e.Svc.Dashboard(dt.AsService("admin"))
	if err != nil {
		t.Fatal(err)
	}
	if d != (dispensing.Dashboard{PrescriptionsPendingVerification: 2, MedicationsBelowReorderLevel: 0, BatchesExpiringSoon: 3, ExpiryWindowDays: 30}) {
		t.Fatalf("dashboard: %+v", d)
	}
	e.Clock.Advance(5 * 24 * time.Hour)
	n, err := e.Svc.WriteOffExpired(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("write-off job: %d %v", n, err)
	}
	if n, _ := e.Svc.WriteOffExpired(context.Background()); n != 0 {
		t.Fatalf("a second run wrote off %d", n)
	}
	if st := checkInvariant(t, e, b.ID); st.QuantityOnHand != 7 || st.LastMovement.ActorRole != dispensing.RoleSystem {
		t.Fatalf("after write-off: %+v", st)
	}
	checkInvariant(t, e, a.ID)
	d, _ = e.Svc.Dashboard(dt.AsService("admin"))
	if d.MedicationsBelowReorderLevel != 1 || d.BatchesExpiringSoon != 1 {
		t.Fatalf("dashboard after write-off: %+v", d)
	}
	// Beta fell below its reorder level by the write-off: one alert.
	if _, ok := e.Message("stock-alert:" + b.ID + "#4"); !ok {
		t.Fatal("no stock alert for the crossing by write-off")
	}
}
