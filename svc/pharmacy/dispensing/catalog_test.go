package dispensing_test

import (
	"context"
	"net/http"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

func TestCatalogCodesAreUniqueAndSearchable(t *testing.T) {
	e := dt.New(t, nil)
	admin := e.As(e.Admin)
	para := e.Medication("para500", "Paracetamol 500mg", "Paracetamol", "1000")
	if para.MedicationCode != "PARA500" || para.UnitPrice.String() != "1000.00" {
		t.Fatalf("created %+v", para)
	}
	e.Medication("AMOX500", "Amoxicillin 500mg", "Amoxicillin", "2500.50")
	e.Medication("IBU400", "Ibuprofen 400mg", "Ibuprofen", "1500")

	_, err := e.Svc.CreateMedication(admin, dispensing.MedicationRequest{MedicationCode: "Para500", Name: "Other", GenericName: "Other", UnitPrice: "1"})
	e.Expect("the same code in another case", err, http.StatusBadRequest)
	for _, price := range []string{"-1", "1.234", "abc", "1e3"} {
		_, err := e.Svc.CreateMedication(admin, dispensing.MedicationRequest{MedicationCode: "X" + price, Name: "X", GenericName: "X", UnitPrice: price})
		e.Expect("price "+price, err, http.StatusBadRequest)
	}

	// The price is kept as its decimal string.
	var raw bson.M
	if err := e.DB.Collection("medications").FindOne(context.Background(), bson.D{{Key: "_id", Value: para.ID}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if raw["unit_price"] != "1000.00" {
		t.Fatalf("stored unit_price %#v", raw["unit_price"])
	}

	for search, want := range map[string]int{"": 3, "amoxi": 1, "PARACETAMOL": 1, "ibu4": 1, "mg": 3, "aspirin": 0} {
		got, n, err := e.Svc.Medications(admin, search, dispensing.Page{Limit: 20})
		if err != nil || n != want || len(got) != want {
			t.Fatalf("search %q: %d (%d) %v", search, n, len(got), err)
		}
	}
	got, n, _ := e.Svc.Medications(admin, "", dispensing.Page{Limit: 2, Offset: 2})
	if n != 3 || len(got) != 1 || got[0].Name != "Paracetamol 500mg" {
		t.Fatalf("second page by name: %d %+v", n, got)
	}
	if _, ok := e.Message("audit:" + ""); ok {
		t.Fatal("no message has an empty key")
	}
	if e.Count("outbox_messages", bson.D{{Key: "target", Value: "admin"}}) != 3 {
		t.Fatalf("each medication created is one audit event")
	}
}
