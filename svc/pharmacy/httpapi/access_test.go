package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"hospital/lib/api"
	"hospital/svc/pharmacy/dispensing"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
	"hospital/svc/pharmacy/httpapi"
)

// The callers of the access matrix. "own" objects are patient 1's
// prescriptions, written by doctor A.
var callers = []string{"anonymous", "patient", "other patient", "doctor", "other doctor", "nurse", "admin", "pharmacist",
	"service admin", "service pharmacy"}

// matrix is every route × every caller: the status each gets. A route
// missing here fails the test, so a new route cannot go unchecked.
var matrix = map[string][]int{
	//                                                          anon pat  other doc  otherdr nurse admin pharm svcadm svcph
	"POST /api/v1/prescriptions/":                        {401, 403, 403, 201, 201, 403, 403, 403, 403, 403},
	"GET /api/v1/patients/{id}/prescriptions/":           {401, 200, 403, 200, 200, 200, 403, 200, 403, 403},
	"GET /api/v1/prescriptions/{id}/":                    {401, 200, 403, 200, 200, 200, 403, 200, 403, 403},
	"PUT /api/v1/prescriptions/{id}/cancel/":             {401, 403, 403, 200, 403, 403, 403, 200, 403, 403},
	"GET /api/v1/pharmacy/prescriptions/pending/":        {401, 403, 403, 403, 403, 403, 403, 200, 403, 403},
	"PUT /api/v1/pharmacy/prescriptions/{id}/verify/":    {401, 403, 403, 403, 403, 403, 403, 200, 403, 403},
	"POST /api/v1/pharmacy/prescriptions/{id}/dispense/": {401, 403, 403, 403, 403, 403, 403, 201, 403, 403},
	"GET /api/v1/pharmacy/dispense-logs/{id}/":           {401, 403, 403, 403, 403, 403, 403, 200, 403, 403},
	"GET /api/v1/pharmacy/stock/":                        {401, 403, 403, 403, 403, 403, 200, 200, 403, 403},
	"PUT /api/v1/pharmacy/stock/{id}/":                   {401, 403, 403, 403, 403, 403, 200, 200, 403, 403},
	"GET /api/v1/pharmacy/stock/{id}/movements/":         {401, 403, 403, 403, 403, 403, 200, 200, 403, 403},
	"GET /api/v1/admin/medications/catalog/":             {401, 403, 403, 200, 200, 403, 200, 200, 403, 403},
	"POST /api/v1/admin/medications/catalog/":            {401, 403, 403, 403, 403, 403, 201, 403, 403, 403},
	"GET /api/v1/pharmacy/internal/dashboard/":           {401, 403, 403, 403, 403, 403, 403, 403, 200, 403},
	"POST /api/v1/pharmacy/internal/stock-alerts/":       {401, 403, 403, 403, 403, 403, 403, 403, 403, 200},
}

func TestAccessMatrix(t *testing.T) {
	s := newServer(t)
	dt.StartEHR(t) // prescribing asks it for the patient's allergies
	tokens := map[string]string{
		"anonymous": "", "patient": s.user(s.Patient1), "other patient": s.user(s.Patient2),
		"doctor": s.user(s.DoctorA), "other doctor": s.user(s.DoctorB), "nurse": s.user(s.Nurse),
		"admin": s.user(s.Admin), "pharmacist": s.user(s.PharmacistA),
		"service admin": s.Service("admin"), "service pharmacy": s.Service("pharmacy"),
	}
	para := s.Medication("PARA500", "Paracetamol 500mg", "Paracetamol", "1000")
	s.Receive(para.ID, "P1", 10000, 300)
	fresh := func(status string) dispensing.Prescription {
		return s.Prescription(s.Patient1, s.DoctorA, status, dt.Line{Medication: para, Quantity: 100})
	}
	dispensed := fresh(dispensing.StatusVerified)
	res, err := s.Svc.Dispense(s.As(s.PharmacistA), dispensed.ID, "", dispensing.DispenseRequest{ItemsDispensed: []dispensing.DispenseItemRequest{
		{PrescriptionItemIDRef: dispensed.Items[0].ItemID, QuantityDispensed: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	logID := res.Value.ID

	request := func(op string, i int) (string, any) {
		switch op {
		case "POST /api/v1/prescriptions/":
			return httpapi.PathPrescriptions, map[string]any{"patient_id": s.Patient1, "items": []map[string]any{{
				"medication_id": para.ID, "dosage": "1 tablet", "frequency": "twice a day", "duration_days": 3, "quantity_prescribed": 6}}}
		case "GET /api/v1/patients/{id}/prescriptions/":
			return fmt.Sprintf("/api/v1/patients/%d/prescriptions/", s.Patient1), nil
		case "GET /api/v1/prescriptions/{id}/":
			return "/api/v1/prescriptions/" + dispensed.ID + "/", nil
		case "PUT /api/v1/prescriptions/{id}/cancel/":
			return "/api/v1/prescriptions/" + fresh(dispensing.StatusVerified).ID + "/cancel/", map[string]any{"reason": "changed"}
		case "GET /api/v1/pharmacy/prescriptions/pending/":
			return httpapi.PathPending, nil
		case "PUT /api/v1/pharmacy/prescriptions/{id}/verify/":
			return "/api/v1/pharmacy/prescriptions/" + fresh(dispensing.StatusPendingVerification).ID + "/verify/", nil
		case "POST /api/v1/pharmacy/prescriptions/{id}/dispense/":
			p := fresh(dispensing.StatusVerified)
			return "/api/v1/pharmacy/prescriptions/" + p.ID + "/dispense/", map[string]any{"items_dispensed": []map[string]any{
				{"prescription_item_id_ref": p.Items[0].ItemID, "quantity_dispensed": 2}}}
		case "GET /api/v1/pharmacy/dispense-logs/{id}/":
			return "/api/v1/pharmacy/dispense-logs/" + logID + "/", nil
		case "GET /api/v1/pharmacy/stock/":
			return httpapi.PathStock, nil
		case "PUT /api/v1/pharmacy/stock/{id}/":
			return httpapi.PathStock + para.ID + "/", map[string]any{"batch_number": fmt.Sprintf("B%d", i), "quantity": 5, "expiry_date": s.Day(100)}
		case "GET /api/v1/pharmacy/stock/{id}/movements/":
			return httpapi.PathStock + para.ID + "/movements/", nil
		case "GET /api/v1/admin/medications/catalog/":
			return httpapi.PathCatalog + "?search=para", nil
		case "POST /api/v1/admin/medications/catalog/":
			return httpapi.PathCatalog, map[string]any{"medication_code": fmt.Sprintf("MATRIX%d", i), "name": "Matrix", "generic_name": "Matrix", "unit_price": "10"}
		case "GET /api/v1/pharmacy/internal/dashboard/":
			return "/api/v1/pharmacy/internal/dashboard/", nil
		case "POST /api/v1/pharmacy/internal/stock-alerts/":
			return httpapi.PathStockAlerts, map[string]any{"medication_id": para.ID, "medication_name": para.Name, "sequence": 1, "quantity_on_hand": 3, "reorder_level": 5}
		}
		panic("no request for " + op)
	}

	seen := map[string]bool{}
	for _, rt := range httpapi.Routes(nil) {
		op := rt.Method + " " + regexpVars(rt.Path)
		want, ok := matrix[op]
		if !ok {
			t.Errorf("%s has no row in the access matrix", op)
			continue
		}
		seen[op] = true
		for i, who := range callers {
			path, body := request(op, i)
			r := s.Do(rt.Method, path, tokens[who], body)
			if r.Status != want[i] {
				t.Errorf("%s as %s: %d, want %d: %s", op, who, r.Status, want[i], r.Raw)
			}
			if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s as %s: error without problem+json", op, who)
			}
		}
	}
	for op := range matrix {
		if !seen[op] {
			t.Errorf("matrix row %s names no route", op)
		}
	}
}

// regexpVars writes every path variable as {id}.
func regexpVars(path string) string {
	var b strings.Builder
	for {
		i := strings.Index(path, "{")
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.Index(path[i:], "}")
		b.WriteString(path[:i] + "{id}")
		path = path[i+j+1:]
	}
}

// The README's API table is the one the router enforces.
func TestREADMECarriesTheAPITable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}
