// Package httpapi is the lab service's HTTP API: the route table (who may
// call what) and thin handlers over the laboratory domain.
package httpapi

import (
	"net/http"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/svc/lab/laboratory"
)

// Paths of the lab service (spec section 6), plus its dashboard figures.
const (
	PathOrders         = "/api/v1/lab/orders/"
	PathPending        = PathOrders + "pending/"
	PathOrder          = PathOrders + "{order_id:[0-9a-f]+}/"
	PathOrderResults   = PathOrder + "results/"
	PathOrderStatus    = PathOrder + "status/"
	PathItem           = PathOrder + "items/{item_id:[0-9a-f-]+}/"
	PathItemStatus     = PathItem + "status/"
	PathItemResults    = PathItem + "results/"
	PathPatientResults = "/api/v1/patients/{patient_id:[0-9]+}/lab-results/"
	PathCatalog        = "/api/v1/admin/lab-tests/catalog/"
	PathCatalogTest    = PathCatalog + "{test_id:[0-9a-f]+}/"
)

var (
	patient = auth.RolePatient
	doctor  = auth.RoleDoctor
	nurse   = auth.RoleNurse
	tech    = auth.RoleLabTechnician
	admin   = auth.RoleAdmin
)

// Routes is the lab API. svc may be nil (for the README and OpenAPI checks,
// which never call a handler).
func Routes(svc *laboratory.Service) []api.Route {
	h := handlers{svc: svc}
	page := func(extra ...api.Param) []api.Param {
		return append(append([]api.Param{}, api.PageParams...), extra...)
	}
	orderPage := httpx.Page[laboratory.Order]{}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []api.Route{
		{Method: post, Path: PathOrders, Summary: "A doctor orders lab tests for a patient (the caller is the ordering doctor).",
			Access: api.Roles(doctor), Handler: h.createOrder, Request: laboratory.OrderRequest{}, Response: laboratory.Order{},
			Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: get, Path: PathPatientResults, Summary: "A patient's lab orders with results: released ones (a patient: their own, released only).",
			Access: api.Roles(patient, doctor, nurse), Handler: h.patientResults, Response: orderPage,
			Query: page(api.Param{Name: "status", Enum: laboratory.Statuses,
				Description: "Staff only: orders in this status (default COMPLETED, the released ones)."})},
		{Method: get, Path: PathOrderResults, Summary: "One order with its items and results (a patient: their own, once released).",
			Access: api.Roles(patient, doctor, nurse, tech), Handler: h.orderResults, Response: laboratory.Order{}},
		{Method: get, Path: PathPending, Summary: "The lab's work list: REQUESTED and SAMPLE_COLLECTED orders, URGENT first, then oldest.",
			Access: api.Roles(tech), Handler: h.pending, Response: orderPage, Query: page()},
		{Method: put, Path: PathOrderStatus, Summary: "Move an order: samples collected, processing (technician); release (doctor); cancel.",
			Access: api.Roles(tech, doctor), Handler: h.orderStatus, Request: laboratory.OrderStatusUpdate{}, Response: laboratory.Order{}},
		{Method: put, Path: PathItemStatus, Summary: "Move one test of an order: sample collected, processing, cancelled.",
			Access: api.Roles(tech), Handler: h.itemStatus, Request: laboratory.ItemStatusUpdate{}, Response: laboratory.Order{}},
		{Method: post, Path: PathItemResults, Summary: "Enter one test's result; flags are computed from the catalog and the patient's sex and age.",
			Access: api.Roles(tech), Handler: h.enterResult, Request: laboratory.ResultRequest{}, Response: laboratory.Order{},
			Status: http.StatusCreated},
		{Method: get, Path: PathCatalog, Summary: "The test catalog by test_code (retired tests on request).",
			Access: api.Roles(admin, doctor, tech), Handler: h.tests, Response: httpx.Page[laboratory.CatalogTest]{},
			Query: page(api.Param{Name: "include_retired", Type: "boolean", Description: "Also list retired tests."})},
		{Method: post, Path: PathCatalog, Summary: "Add a test to the catalog.",
			Access: api.Roles(admin), Handler: h.createTest, Request: laboratory.CatalogTestRequest{}, Response: laboratory.CatalogTest{},
			Status: http.StatusCreated},
		{Method: get, Path: PathCatalogTest, Summary: "One catalog test, retired or not.",
			Access: api.Roles(admin, doctor, tech), Handler: h.test, Response: laboratory.CatalogTest{}},
		{Method: put, Path: PathCatalogTest, Summary: "Replace a test's fields (not its code); is_active retires or restores it.",
			Access: api.Roles(admin), Handler: h.updateTest, Request: laboratory.CatalogTestRequest{}, Response: laboratory.CatalogTest{}},
		{Method: del, Path: PathCatalogTest, Summary: "Retire a test: no longer orderable, kept for the orders that use it.",
			Access: api.Roles(admin), Handler: h.retireTest, Status: http.StatusNoContent},
		adminapi.DashboardRoute("lab", "The lab's figures for the admin dashboard.", h.svc.Dashboard),
	}
}
