package httpapi_test

import (
	"net/http"
	"testing"

	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
)

// What only HTTP shows: problems and their members, bad input, keys.
func TestHTTPAnswers(t *testing.T) {
	s := newServer(t)
	ph := s.user(s.PharmacistA)
	para := s.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	s.Receive(para.ID, "P1", 5, 100)
	p := s.Prescription(s.Patient1, s.DoctorA, dispensing.StatusVerified, dt.Line{Medication: para, Quantity: 10})
	dispense := "/api/v1/pharmacy/prescriptions/" + p.ID + "/dispense/"
	line := func(q int) map[string]any {
		return map[string]any{"items_dispensed": []map[string]any{{"prescription_item_id_ref": p.Items[0].ItemID, "quantity_dispensed": q}}}
	}

	r := s.Require("short", s.Do(http.MethodPost, dispense, ph, line(6)), http.StatusConflict)
	short, _ := r.Body["shortages"].([]any)
	if r.Str("code") != "insufficient_stock" || len(short) != 1 || short[0].(map[string]any)["available"] != float64(5) {
		t.Fatalf("shortage problem: %s", r.Raw)
	}
	first := s.Require("dispense with a key", s.Do(http.MethodPost, dispense, ph, line(2), "Idempotency-Key", "k-1"), http.StatusCreated)
	again := s.Require("the same key again", s.Do(http.MethodPost, dispense, ph, line(2), "Idempotency-Key", "k-1"), http.StatusCreated)
	if first.Str("id") == "" || again.Str("id") != first.Str("id") || first.Str("payment_status") != "PENDING_BILLING" {
		t.Fatalf("replay: %s / %s", first.Raw, again.Raw)
	}
	s.Require("the key with another body", s.Do(http.MethodPost, dispense, ph, line(1), "Idempotency-Key", "k-1"), http.StatusUnprocessableEntity)
	if got := s.Stock(para.ID).QuantityOnHand; got != 3 {
		t.Fatalf("on hand %d", got)
	}

	for what, c := range map[string]struct {
		method, path string
		body         any
		status       int
	}{
		"malformed JSON":         {http.MethodPost, dispense, `{"items_dispensed": [`, http.StatusBadRequest},
		"an unknown field":       {http.MethodPost, dispense, map[string]any{"items_dispensed": line(1)["items_dispensed"], "free": true}, http.StatusBadRequest},
		"no lines":               {http.MethodPost, dispense, map[string]any{"items_dispensed": []any{}}, http.StatusBadRequest},
		"a zero quantity":        {http.MethodPost, dispense, line(0), http.StatusBadRequest},
		"a short id":             {http.MethodGet, "/api/v1/prescriptions/abc123/", nil, http.StatusNotFound},
		"an id that is not hex":  {http.MethodGet, "/api/v1/prescriptions/XYZ/", nil, http.StatusNotFound},
		"a page past the end":    {http.MethodGet, "/api/v1/pharmacy/prescriptions/pending/?page=9", nil, http.StatusNotFound},
		"an unknown status":      {http.MethodGet, "/api/v1/pharmacy/prescriptions/pending/?status=DISPENSED_FULL", nil, http.StatusBadRequest},
		"an unknown kind":        {http.MethodGet, "/api/v1/pharmacy/stock/" + para.ID + "/movements/?kind=THEFT", nil, http.StatusBadRequest},
		"a bad low_stock":        {http.MethodGet, "/api/v1/pharmacy/stock/?low_stock=maybe", nil, http.StatusBadRequest},
		"a window of 0 days":     {http.MethodGet, "/api/v1/pharmacy/stock/?expiring_within_days=0", nil, http.StatusBadRequest},
		"a negative reorder":     {http.MethodPut, "/api/v1/pharmacy/stock/" + para.ID + "/", map[string]any{"reorder_level": -1}, http.StatusBadRequest},
		"a body on verify":       {http.MethodPut, "/api/v1/pharmacy/prescriptions/" + p.ID + "/verify/", map[string]any{"status": "VERIFIED"}, http.StatusBadRequest},
		"stock of no medication": {http.MethodGet, "/api/v1/pharmacy/stock/0123456789abcdef01234567/movements/", nil, http.StatusNotFound},
		"a key of control chars": {http.MethodPost, dispense, line(1), http.StatusBadRequest},
	} {
		var hdr []string
		if what == "a key of control chars" {
			hdr = []string{"Idempotency-Key", "a\tb"}
		}
		s.Require(what, s.Do(c.method, c.path, ph, c.body, hdr...), c.status)
	}

	list := s.Require("stock list", s.Do(http.MethodGet, "/api/v1/pharmacy/stock/?low_stock=false&search=PARA", ph, nil), http.StatusOK)
	results, _ := list.Body["results"].([]any)
	if list.Body["count"] != float64(1) || len(results) != 1 || results[0].(map[string]any)["quantity_on_hand"] != float64(3) {
		t.Fatalf("stock list: %s", list.Raw)
	}
	card := s.Require("stock card", s.Do(http.MethodGet, "/api/v1/pharmacy/stock/"+para.ID+"/movements/?kind=DISPENSE", ph, nil), http.StatusOK)
	if card.Body["count"] != float64(1) {
		t.Fatalf("stock card: %s", card.Raw)
	}
}
