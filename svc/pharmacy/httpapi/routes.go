// Package httpapi is the pharmacy's HTTP API: the route table (who may call
// what) and thin handlers over the dispensing domain.
package httpapi

import (
	"net/http"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/svc/pharmacy/dispensing"
)

// Paths of the pharmacy service (spec section 4, and the stock card,
// cancellation, dispense log and internal endpoints it adds).
const (
	hexID                 = ":[0-9a-f]+}"
	PathPrescriptions     = "/api/v1/prescriptions/"
	PathPrescription      = PathPrescriptions + "{prescription_id" + hexID + "/"
	PathCancel            = PathPrescription + "cancel/"
	PathPatientRx         = "/api/v1/patients/{patient_id:[0-9]+}/prescriptions/"
	PathPending           = "/api/v1/pharmacy/prescriptions/pending/"
	PathVerify            = "/api/v1/pharmacy/prescriptions/{prescription_id" + hexID + "/verify/"
	PathDispense          = "/api/v1/pharmacy/prescriptions/{prescription_id" + hexID + "/dispense/"
	PathDispenseLog       = "/api/v1/pharmacy/dispense-logs/{dispense_log_id" + hexID + "/"
	PathStock             = "/api/v1/pharmacy/stock/"
	PathStockItem         = PathStock + "{medication_id" + hexID + "/"
	PathMovements         = PathStockItem + "movements/"
	PathCatalog           = "/api/v1/admin/medications/catalog/"
	PathStockAlerts       = dispensing.StockAlertsPath
	pathDashboardFragment = "pharmacy"
)

var (
	doctor     = auth.RoleDoctor
	nurse      = auth.RoleNurse
	patient    = auth.RolePatient
	pharmacist = auth.RolePharmacist
	admin      = auth.RoleAdmin
)

func pageParams(extra ...api.Param) []api.Param {
	return append(append([]api.Param{}, api.PageParams...), extra...)
}

var statusParam = api.Param{Name: "status", Description: "Only prescriptions with this status.", Enum: dispensing.Statuses}

// Routes is the pharmacy API. svc may be nil (for the README and OpenAPI
// checks, which never call a handler).
func Routes(svc *dispensing.Service) []api.Route {
	h := handlers{svc: svc}
	rxPage := httpx.Page[dispensing.Prescription]{}
	return []api.Route{
		{Method: http.MethodPost, Path: PathPrescriptions, Summary: "Prescribe (the caller is the doctor); allergies are checked in the EHR.",
			Description: "A medication matching one of the patient's recorded allergies refuses the prescription (409, code allergy_conflict, naming each match) unless allergy_override_reason is given; if the EHR cannot be asked, nothing is written (503).",
			Access:      api.Roles(doctor), Handler: h.prescribe, Request: dispensing.PrescribeRequest{}, Response: dispensing.Prescription{},
			Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: http.MethodGet, Path: PathPatientRx, Summary: "A patient's prescriptions, newest first (a patient: their own only).",
			Access: api.Roles(patient, doctor, nurse, pharmacist), Handler: h.patientPrescriptions, Response: rxPage, Query: pageParams(statusParam)},
		{Method: http.MethodGet, Path: PathPrescription, Summary: "A prescription with its items, allergy check and dispense history (a patient: their own only).",
			Access: api.Roles(patient, doctor, nurse, pharmacist), Handler: h.prescription, Response: dispensing.Prescription{}},
		{Method: http.MethodPut, Path: PathCancel, Summary: "Cancel a prescription until it is fully dispensed (its prescriber or a pharmacist, with a reason).",
			Access: api.Roles(doctor, pharmacist), Handler: h.cancel, Request: dispensing.CancelRequest{}, Response: dispensing.Prescription{}},
		{Method: http.MethodGet, Path: PathPending, Summary: "Prescriptions waiting to be verified or dispensed, oldest first.",
			Access: api.Roles(pharmacist), Handler: h.pending, Response: rxPage,
			Query: pageParams(api.Param{Name: "status", Description: "Only this status.",
				Enum: []string{dispensing.StatusPendingVerification, dispensing.StatusVerified, dispensing.StatusDispensedPartial}})},
		{Method: http.MethodPut, Path: PathVerify, Summary: "Verify a prescription (PENDING_VERIFICATION to VERIFIED); the patient is told it is ready.",
			Access: api.Roles(pharmacist), Handler: h.verify, Request: api.NoBody{}, OptionalBody: true, Response: dispensing.Prescription{}},
		{Method: http.MethodPost, Path: PathDispense, Summary: "Dispense (the caller is the pharmacist): FEFO from unexpired batches, never more than prescribed or on hand.",
			Description: "Not enough unexpired stock is a 409 (code insufficient_stock) listing the shortages, and nothing is dispensed. The dispense log's invoice is requested from billing once.",
			Access:      api.Roles(pharmacist), Handler: h.dispense, Request: dispensing.DispenseRequest{}, Response: dispensing.DispenseLog{},
			Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}, Timeout: 30 * time.Second},
		{Method: http.MethodGet, Path: PathDispenseLog, Summary: "A dispense log: lines, batches, prices and payment status.",
			Access: api.Roles(pharmacist), Handler: h.dispenseLog, Response: dispensing.DispenseLog{}},
		{Method: http.MethodGet, Path: PathStock, Summary: "Stock by medication: on hand, available, reorder level, low-stock flag, batches and those expiring soon.",
			Access: api.Roles(pharmacist, admin), Handler: h.stock, Response: httpx.Page[dispensing.StockView]{},
			Query: pageParams(
				api.Param{Name: "low_stock", Type: "boolean", Description: "Only medications below (true) or not below (false) their reorder level."},
				api.Param{Name: "expiring_within_days", Type: "integer", Description: "The window of expiring_batches (default: the live pharmacy.expiry_warning_days, EXPIRY_WARNING_DAYS until set)."},
				api.Param{Name: "search", Description: "Medication name contains this (any case)."})},
		{Method: http.MethodPut, Path: PathStockItem, Summary: "Receive a batch, adjust batches, write off expired ones, or set the reorder level.",
			Access: api.Roles(pharmacist, admin), Handler: h.updateStock, Request: dispensing.StockUpdate{}, Response: dispensing.StockView{}},
		{Method: http.MethodGet, Path: PathMovements, Summary: "A medication's stock card: every movement with who, when, why and the batches, newest first.",
			Access: api.Roles(pharmacist, admin), Handler: h.movements, Response: httpx.Page[dispensing.Movement]{},
			Query: pageParams(api.Param{Name: "kind", Description: "Only movements of this kind.", Enum: dispensing.MovementKinds})},
		{Method: http.MethodGet, Path: PathCatalog, Summary: "The medication catalog by name, searchable.",
			Access: api.Roles(admin, pharmacist, doctor), Handler: h.catalog, Response: httpx.Page[dispensing.Medication]{},
			Query: pageParams(api.Param{Name: "search", Description: "Name, generic name or code contains this (any case)."})},
		{Method: http.MethodPost, Path: PathCatalog, Summary: "Add a medication to the catalog (medication_code unique).",
			Access: api.Roles(admin), Handler: h.createMedication, Request: dispensing.MedicationRequest{}, Response: dispensing.Medication{},
			Status: http.StatusCreated},
		adminapi.DashboardRoute(pathDashboardFragment, "The pharmacy's figures for the admin dashboard.", h.svc.Dashboard),
		{Method: http.MethodPost, Path: PathStockAlerts, Summary: "Tell every active pharmacist of a stock alert (this service's own outbox).",
			Access: api.Services(dispensing.ServiceName), Handler: h.stockAlert, Request: dispensing.StockAlert{}, Response: dispensing.StockAlertResult{}},
	}
}
