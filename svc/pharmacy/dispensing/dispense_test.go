package dispensing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/apperr"
	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

func lines(p dispensing.Prescription, qty ...int64) dispensing.DispenseRequest {
	var in dispensing.DispenseRequest
	for i, q := range qty {
		in.ItemsDispensed = append(in.ItemsDispensed, dispensing.DispenseItemRequest{PrescriptionItemIDRef: p.Items[i].ItemID, QuantityDispensed: q})
	}
	return in
}

func TestDispenseTakesFirstExpiryFirstAndNeverExpired(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	amox := e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500.50")
	e.Receive(amox.ID, "B-EXPIRING", 50, 3) // expired by the time of the dispense
	e.Receive(amox.ID, "B-LATE", 30, 300)
	e.Receive(amox.ID, "B-EARLY", 10, 40)
	e.Clock.Advance(4 * 24 * time.Hour)
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: amox, Quantity: 21})

	res, err := e.Svc.Dispense(ph, p.ID, "", lines(p, 15))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Value
	if res.Status != http.StatusCreated || d.PaymentStatus != dispensing.PaymentPendingBilling || d.PharmacistID != e.PharmacistA {
		t.Fatalf("dispense log: %d %+v", res.Status, d)
	}
	got := d.DispensedItems[0]
	if len(got.Batches) != 2 || got.Batches[0].BatchNumber != "B-EARLY" || got.Batches[0].Quantity != 10 ||
		got.Batches[1].BatchNumber != "B-LATE" || got.Batches[1].Quantity != 5 {
		t.Fatalf("FEFO batches: %+v", got.Batches)
	}
	if got.UnitPrice.String() != "2500.50" || got.TotalPrice.String() != "37507.50" || d.TotalPrice.String() != "37507.50" {
		t.Fatalf("prices: %s %s %s", got.UnitPrice, got.TotalPrice, d.TotalPrice)
	}
	st := checkInvariant(t, e, amox.ID)
	if st.QuantityOnHand != 75 || st.ExpiryDates[0].BatchNumber != "B-EXPIRING" || st.ExpiryDates[0].Quantity != 50 {
		t.Fatalf("stock after: %+v", st.ExpiryDates)
	}
	p2, err := e.Svc.Prescription(ph, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Status != dispensing.StatusDispensedPartial || p2.Items[0].QuantityDispensed != 15 || len(p2.DispenseHistory) != 1 ||
		p2.DispenseHistory[0].DispenseLogID != d.ID || p2.DispenseHistory[0].DispensedItems[0].ItemIDRef != p.Items[0].ItemID {
		t.Fatalf("prescription after: %+v", p2)
	}
	body, ok := e.Message("dispense-invoice:" + d.ID)
	if !ok {
		t.Fatal("no invoice request for the dispense")
	}
	items := body["items"].([]any)
	item := items[0].(map[string]any)
	if body["dispense_log_id"] != d.ID || body["patient_id"] != float64(e.Patient1) || len(items) != 1 ||
		item["quantity"] != float64(15) || item["unit_price"] != "2500.50" || item["total_price"] != "37507.50" || item["medication_name"] != "Amoxicillin 500mg" {
		t.Fatalf("invoice request: %v", body)
	}

	// 6 left to give; only 40 unexpired on hand. The remaining 6 complete it.
	_, err = e.Svc.Dispense(ph, p.ID, "", lines(p, 7))
	e.Expect("more than is left on the prescription", err, http.StatusConflict)
	if dt.Code(err) != "exceeds_prescribed" {
		t.Fatalf("code %q", dt.Code(err))
	}
	if _, err := e.Svc.Dispense(ph, p.ID, "", lines(p, 6)); err != nil {
		t.Fatal(err)
	}
	p3, _ := e.Svc.Prescription(ph, p.ID)
	if p3.Status != dispensing.StatusDispensedFull || p3.Items[0].QuantityDispensed != 21 {
		t.Fatalf("after the second dispense: %s %d", p3.Status, p3.Items[0].QuantityDispensed)
	}
	_, err = e.Svc.Dispense(ph, p.ID, "", lines(p, 1))
	e.Expect("a fully dispensed prescription", err, http.StatusConflict)
	if st := checkInvariant(t, e, amox.ID); st.QuantityOnHand != 69 {
		t.Fatalf("on hand %d", st.QuantityOnHand)
	}

	// The payment status follows billing: BILLED once billing took the request.
	if err := e.Svc.Delivered(context.Background(), "dispense-invoice:"+d.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.Delivered(context.Background(), "prescription-ready:"+p.ID); err != nil {
		t.Fatal(err)
	}
	got2, err := e.Svc.DispenseLog(ph, d.ID)
	if err != nil || got2.PaymentStatus != dispensing.PaymentBilled {
		t.Fatalf("payment status: %v %s", err, got2.PaymentStatus)
	}
}

func TestDispenseRefusalsChangeNothing(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	ibu := e.Medication("IBU400", "Ibuprofen 400mg", "Ibuprofen", "1500")
	e.Receive(para.ID, "P1", 10, 100)
	e.Receive(ibu.ID, "I-OLD", 30, 2)
	e.Receive(ibu.ID, "I-NEW", 4, 100)
	e.Clock.Advance(3 * 24 * time.Hour) // I-OLD has expired
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 5}, dt.Line{Medication: ibu, Quantity: 10})
	pending := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: para, Quantity: 5})
	versions := map[string]int64{para.ID: e.Stock(para.ID).Version, ibu.ID: e.Stock(ibu.ID).Version}

	_, err := e.Svc.Dispense(ph, p.ID, "", lines(p, 5, 10))
	e.Expect("expired stock does not count", err, http.StatusConflict)
	ae, _ := apperr.As(err)
	short, _ := ae.Extra["shortages"].([]dispensing.Shortage)
	if ae.Code != "insufficient_stock" || len(short) != 1 || short[0].MedicationID != ibu.ID || short[0].Available != 4 || short[0].Requested != 10 ||
		!strings.Contains(ae.Detail, "Ibuprofen 400mg (requested 10, available 4)") {
		t.Fatalf("shortage: %+v", ae)
	}
	_, err = e.Svc.Dispense(ph, pending.ID, "", lines(pending, 1))
	e.Expect("not verified yet", err, http.StatusConflict)
	_, err = e.Svc.Dispense(ph, p.ID, "", dispensing.DispenseRequest{ItemsDispensed: []dispensing.DispenseItemRequest{{PrescriptionItemIDRef: "nope", QuantityDispensed: 1}}})
	e.Expect("an item not on the prescription", err, http.StatusBadRequest)
	in := lines(p, 1)
	in.ItemsDispensed = append(in.ItemsDispensed, in.ItemsDispensed[0])
	_, err = e.Svc.Dispense(ph, p.ID, "", in)
	e.Expect("an item twice", err, http.StatusBadRequest)
	in = lines(p, 1)
	in.PharmacistID = e.PharmacistB
	_, err = e.Svc.Dispense(ph, p.ID, "", in)
	e.Expect("someone else's pharmacist_id", err, http.StatusBadRequest)
	_, err = e.Svc.Dispense(ph, "0123456789abcdef01234567", "", lines(p, 1))
	e.Expect("no such prescription", err, http.StatusNotFound)

	for id, v := range versions {
		if got := e.Stock(id).Version; got != v {
			t.Fatalf("a refused dispense changed the stock of %s: version %d, was %d", id, got, v)
		}
		checkInvariant(t, e, id)
	}
	if got, _ := e.Store.Prescription(context.Background(), p.ID); got.Version != 1 || len(got.Pending) != 0 {
		t.Fatalf("a refused dispense changed the prescription: %+v", got)
	}
	if e.Count("dispense_logs", bson.D{}) != 0 {
		t.Fatal("a refused dispense left a log")
	}

	// Enough of both: a dispense of two medications at once.
	e.Receive(ibu.ID, "I-MORE", 20, 100)
	res, err := e.Svc.Dispense(ph, p.ID, "", lines(p, 5, 10))
	if err != nil {
		t.Fatal(err)
	}
	if it := res.Value.DispensedItems[1]; len(it.Batches) != 2 || it.Batches[0].BatchNumber != "I-MORE" && it.Batches[0].BatchNumber != "I-NEW" {
		t.Fatalf("ibuprofen from the unexpired batches: %+v", it.Batches)
	}
	for _, b := range res.Value.DispensedItems[1].Batches {
		if b.BatchNumber == "I-OLD" {
			t.Fatal("dispensed from an expired batch")
		}
	}
	checkInvariant(t, e, para.ID)
	checkInvariant(t, e, ibu.ID)
}

func TestDispenseWithAnIdempotencyKeyHappensOnce(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P1", 100, 100)
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 30})

	first, err := e.Svc.Dispense(ph, p.ID, "counter-7-0001", lines(p, 10))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.Svc.Dispense(ph, p.ID, "counter-7-0001", lines(p, 10))
	if err != nil || again.Value.ID != first.Value.ID || again.Status != http.StatusCreated {
		t.Fatalf("replay: %v %+v", err, again)
	}
	_, err = e.Svc.Dispense(ph, p.ID, "counter-7-0001", lines(p, 11))
	e.Expect("the key with another body", err, http.StatusUnprocessableEntity)
	if st := e.Stock(para.ID); st.QuantityOnHand != 90 {
		t.Fatalf("on hand %d after a replayed dispense of 10", st.QuantityOnHand)
	}
	if n := e.Count("outbox_messages", bson.D{{Key: "target", Value: "billing"}}); n != 1 {
		t.Fatalf("%d invoice requests", n)
	}
}

// The early checks read the projections, which may lag the latest version
// by a change in flight: a refusal there is looked at again on the latest
// versions, so a lagging projection refuses nothing.
func TestALaggingProjectionRefusesNothing(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P1", 5, 100)
	e.Receive(para.ID, "P2", 5, 200)
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: para, Quantity: 8})
	if _, err := e.Svc.Verify(e.As(e.PharmacistA), p.ID); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// As if the projections were still at the versions before the last
	// change of each.
	if _, err := e.DB.Collection("prescriptions").UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}}, bson.D{{Key: "$set",
		Value: bson.D{{Key: "status", Value: dispensing.StatusPendingVerification}, {Key: "_v", Value: int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	st := e.Stock(para.ID)
	if _, err := e.DB.Collection("pharmacy_stock").UpdateOne(ctx, bson.D{{Key: "_id", Value: para.ID}}, bson.D{{Key: "$set",
		Value: bson.D{{Key: "expiry_dates", Value: bson.A{bson.D{{Key: "batch_number", Value: "P1"}, {Key: "quantity", Value: int64(5)},
			{Key: "expiry_date", Value: st.ExpiryDates[0].ExpiryDate}}}}, {Key: "quantity_on_hand", Value: int64(5)}, {Key: "_v", Value: int64(1)}}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Store.PrescriptionSnapshot(ctx, p.ID); got.Status != dispensing.StatusPendingVerification {
		t.Fatal("the projection does not lag")
	}
	if _, err := e.Svc.Dispense(e.As(e.PharmacistA), p.ID, "", lines(p, 8)); err != nil {
		t.Fatalf("refused on lagging projections: %v", err)
	}
	if st := checkInvariant(t, e, para.ID); st.QuantityOnHand != 2 {
		t.Fatalf("on hand %d", st.QuantityOnHand)
	}
}
