package dispensing_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// auditCount counts the queued audit events of action on patient with outcome.
func auditCount(e *dt.Env, action string, patient int64, outcome string) int {
	e.T.Helper()
	cur, err := e.DB.Collection("outbox_messages").Find(context.Background(), bson.D{{Key: "target", Value: "admin"}})
	if err != nil {
		e.T.Fatal(err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(context.Background(), &docs); err != nil {
		e.T.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		body, _ := e.Message(d.ID)
		if body["action_performed"] == action && body["patient_id"] == float64(patient) && body["outcome"] == outcome {
			n++
		}
	}
	return n
}

func TestVerifyTellsThePatientOnce(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: para, Quantity: 10})

	got, err := e.Svc.Verify(e.As(e.PharmacistB), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != dispensing.StatusVerified || got.VerifiedBy == nil || *got.VerifiedBy != e.PharmacistB || got.VerifiedAt == nil {
		t.Fatalf("verified: %+v", got)
	}
	body, ok := e.Message("prescription-ready:" + p.ID)
	data, _ := body["data"].(map[string]any)
	if !ok || body["notification_type"] != "PRESCRIPTION_READY_FOR_PICKUP" || body["recipient_id"] != float64(e.Patient1) ||
		data["prescription_id"] != p.ID || data["patient_name"] != "Nguyen Van A" {
		t.Fatalf("ready for pickup: %v", body)
	}
	_, err = e.Svc.Verify(e.As(e.PharmacistA), p.ID)
	e.Expect("verified twice", err, http.StatusConflict)
	_, err = e.Svc.Verify(e.As(e.PharmacistA), "0123456789abcdef01234567")
	e.Expect("no such prescription", err, http.StatusNotFound)
	if auditCount(e, "pharmacy.prescription.verify", e.Patient1, "SUCCESS") != 1 {
		t.Fatal("the verification is not audited once")
	}
}

func TestCancelUntilFullyDispensed(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P1", 100, 100)
	reason := dispensing.CancelRequest{Reason: "patient changed treatment"}

	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: para, Quantity: 10})
	_, err := e.Svc.Cancel(e.As(e.DoctorB), p.ID, reason)
	e.Expect("another doctor", err, http.StatusForbidden)
	if auditCount(e, "pharmacy.prescription.cancel", e.Patient1, "DENIED") != 1 {
		t.Fatal("the refused cancellation is not audited")
	}
	_, err = e.Svc.Cancel(e.As(e.DoctorA), p.ID, dispensing.CancelRequest{Reason: "  "})
	e.Expect("no reason", err, http.StatusBadRequest)
	got, err := e.Svc.Cancel(e.As(e.DoctorA), p.ID, reason)
	if err != nil || got.Status != dispensing.StatusCancelled || got.Cancellation == nil || got.Cancellation.By != e.DoctorA || got.Cancellation.Reason != reason.Reason {
		t.Fatalf("cancel by the prescriber: %v %+v", err, got)
	}
	_, err = e.Svc.Verify(e.As(e.PharmacistA), p.ID)
	e.Expect("verify a cancelled prescription", err, http.StatusConflict)
	_, err = e.Svc.Cancel(e.As(e.PharmacistA), p.ID, reason)
	e.Expect("cancel twice", err, http.StatusConflict)

	// Partly dispensed: a pharmacist cancels the rest; fully dispensed: no.
	partly := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 10})
	if _, err := e.Svc.Dispense(e.As(e.PharmacistA), partly.ID, "", lines(partly, 4)); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Svc.Cancel(e.As(e.PharmacistA), partly.ID, reason); err != nil || got.Items[0].QuantityDispensed != 4 {
		t.Fatalf("cancel the rest: %v %+v", err, got)
	}
	_, err = e.Svc.Dispense(e.As(e.PharmacistA), partly.ID, "", lines(partly, 1))
	e.Expect("dispense a cancelled prescription", err, http.StatusConflict)
	full := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 3})
	if _, err := e.Svc.Dispense(e.As(e.PharmacistA), full.ID, "", lines(full, 3)); err != nil {
		t.Fatal(err)
	}
	_, err = e.Svc.Cancel(e.As(e.DoctorA), full.ID, reason)
	e.Expect("cancel a fully dispensed prescription", err, http.StatusConflict)
}

func TestReadsAreScopedAndAudited(t *testing.T) {
	e := dt.New(t, nil)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	mine := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusPendingVerification, dt.Line{Medication: para, Quantity: 10})
	e.Prescription(e.Patient1, e.DoctorB, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 5})
	theirs := e.Prescription(e.Patient2, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 5})

	if _, err := e.Svc.Prescription(e.As(e.Patient1), mine.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.Svc.Prescription(e.As(e.Patient1), theirs.ID)
	e.Expect("another patient's prescription", err, http.StatusForbidden)
	for _, who := range []int64{e.DoctorB, e.Nurse, e.PharmacistA} {
		if _, err := e.Svc.Prescription(e.As(who), theirs.ID); err != nil {
			t.Fatalf("%s reads: %v", e.Role(who), err)
		}
	}
	list, n, err := e.Svc.PatientPrescriptions(e.As(e.Patient1), e.Patient1, dispensing.PrescriptionFilter{}, dispensing.Page{Limit: 20})
	if err != nil || n != 2 || len(list) != 2 {
		t.Fatalf("own list: %v %d", err, n)
	}
	_, _, err = e.Svc.PatientPrescriptions(e.As(e.Patient1), e.Patient2, dispensing.PrescriptionFilter{}, dispensing.Page{Limit: 20})
	e.Expect("another patient's list", err, http.StatusForbidden)
	_, n, _ = e.Svc.PatientPrescriptions(e.As(e.Nurse), e.Patient1, dispensing.PrescriptionFilter{Status: dispensing.StatusVerified}, dispensing.Page{Limit: 20})
	if n != 1 {
		t.Fatalf("filtered by status: %d", n)
	}
	pending, n, err := e.Svc.Pending(e.As(e.PharmacistA), dispensing.PrescriptionFilter{}, dispensing.Page{Limit: 20})
	if err != nil || n != 3 || pending[0].ID != mine.ID {
		t.Fatalf("pending, oldest first: %v %d", err, n)
	}

	if auditCount(e, "pharmacy.prescription.read", e.Patient1, "SUCCESS") != 1 ||
		auditCount(e, "pharmacy.prescription.read", e.Patient2, "DENIED") != 1 ||
		auditCount(e, "pharmacy.prescription.read", e.Patient2, "SUCCESS") != 3 ||
		auditCount(e, "pharmacy.prescription.list", e.Patient2, "DENIED") != 1 ||
		auditCount(e, "pharmacy.prescription.pending.list", e.Patient1, "SUCCESS") != 1 {
		t.Fatal("reads are not audited one event each")
	}
}

func TestStockLowIsToldOncePerCrossingToEveryActivePharmacist(t *testing.T) {
	e := dt.New(t, nil)
	ph := e.As(e.PharmacistA)
	para := e.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	e.Receive(para.ID, "P1", 15, 100)
	if _, err := e.Svc.UpdateStock(ph, para.ID, dispensing.StockUpdate{ReorderLevel: new(int64(10))}); err != nil {
		t.Fatal(err)
	}
	p := e.Prescription(e.Patient1, e.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 100})
	alerts := func() []string {
		cur, err := e.DB.Collection("outbox_messages").Find(context.Background(), bson.D{{Key: "target", Value: "pharmacy"}})
		if err != nil {
			t.Fatal(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		_ = cur.All(context.Background(), &docs)
		var out []string
		for _, d := range docs {
			out = append(out, d.ID)
		}
		return out
	}
	for _, q := range []int64{3, 4, 2} { // 12, 8 (crossing), 6
		if _, err := e.Svc.Dispense(ph, p.ID, "", lines(p, q)); err != nil {
			t.Fatal(err)
		}
	}
	first := alerts()
	if len(first) != 1 || first[0] != "stock-alert:"+para.ID+"#4" {
		t.Fatalf("after the first crossing: %v", first)
	}
	e.Receive(para.ID, "P2", 20, 100)                                     // 26: back above
	if _, err := e.Svc.Dispense(ph, p.ID, "", lines(p, 20)); err != nil { // 6: crossing again
		t.Fatal(err)
	}
	if got := alerts(); len(got) != 2 {
		t.Fatalf("after the second crossing: %v", got)
	}

	// The alert, delivered to the service itself, becomes one notification
	// per active pharmacist; delivered twice, still one each.
	body, _ := e.Message(first[0])
	a := dispensing.StockAlert{MedicationID: body["medication_id"].(string), MedicationName: body["medication_name"].(string),
		Sequence: int64(body["sequence"].(float64)), QuantityOnHand: int64(body["quantity_on_hand"].(float64)), ReorderLevel: int64(body["reorder_level"].(float64))}
	if a.QuantityOnHand != 8 || a.ReorderLevel != 10 || a.MedicationName != "Paracetamol 500mg" {
		t.Fatalf("alert: %+v", a)
	}
	for range 2 {
		res, err := e.Svc.NotifyStockLow(dt.AsService("pharmacy"), a)
		if err != nil || res.Recipients < 2 {
			t.Fatalf("fan-out: %v %+v", err, res)
		}
	}
	for _, id := range []int64{e.PharmacistA, e.PharmacistB} {
		body, ok := e.Message("stock-low:" + para.ID + "#4:" + strconv.FormatInt(id, 10))
		data, _ := body["data"].(map[string]any)
		if !ok || body["notification_type"] != "PHARMACY_STOCK_LOW" || data["quantity_on_hand"] != "8" || data["reorder_level"] != "10" {
			t.Fatalf("alert to pharmacist %d: %v", id, body)
		}
	}
	if _, ok := e.Message("stock-low:" + para.ID + "#4:" + strconv.FormatInt(e.InactivePharmacist, 10)); ok {
		t.Fatal("an inactive pharmacist was told")
	}
	if n := e.Count("outbox_messages", bson.D{{Key: "target", Value: "notification"}}); n != 2 {
		t.Fatalf("%d notifications for one alert to two pharmacists", n)
	}
}
