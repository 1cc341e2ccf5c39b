// Package httpapi is the billing service's HTTP API: the route table (who
// may call what) and thin handlers over the invoicing domain.
package httpapi

import (
	"net/http"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/billingapi"
	"hospital/lib/httpx"
	"hospital/svc/billing/invoicing"
)

// Paths of the billing service (spec section 5).
const (
	PathPatientInvoices = "/api/v1/patients/{patient_id:[0-9]+}/invoices/"
	PathInvoice         = "/api/v1/invoices/{invoice_id:[0-9]+}/"
	PathPay             = PathInvoice + "pay/"
	PathClaims          = PathInvoice + "claims/"
	PathPolicies        = "/api/v1/patients/{patient_id:[0-9]+}/insurance-policies/"
	PathAdminInvoices   = "/api/v1/admin/invoices/"
	PathAdminInvoice    = PathAdminInvoices + "{invoice_id:[0-9]+}/"
	PathAdminClaims     = "/api/v1/admin/claims/"
	PathAdminClaim      = PathAdminClaims + "{claim_id:[0-9]+}/"
	PathProviderPending = "/api/v1/insurance-provider/claims/pending/"
	PathProviderProcess = "/api/v1/insurance-provider/claims/{claim_id:[0-9]+}/process/"
)

var (
	patient  = auth.RolePatient
	admin    = auth.RoleAdmin
	provider = auth.RoleInsuranceProvider
)

var (
	invoiceFilters = []api.Param{
		{Name: "status", Description: "Invoice status; repeat or comma-separate for several.", Enum: invoiceStatuses},
		{Name: "date_from", Type: "date", Description: "Issued on or after this day."},
		{Name: "date_to", Type: "date", Description: "Issued on or before this day."},
		{Name: "ordering", Description: "Sort by issue_date, due_date, total_amount, status, invoice_number, id or patient_id; '-' first for descending (default -issue_date)."},
	}
	adminInvoiceFilters = append([]api.Param{{Name: "patient_id", Type: "integer", Description: "Only this patient's invoices."}}, invoiceFilters...)
	claimFilters        = []api.Param{
		{Name: "status", Description: "Claim status; repeat or comma-separate for several."},
		{Name: "patient_id", Type: "integer", Description: "Only claims on this patient's invoices."},
		{Name: "insurance_provider_id", Type: "integer", Description: "Only claims on this provider's policies."},
	}
)

var invoiceStatuses = []string{invoicing.StatusDraft, invoicing.StatusPendingPatient, invoicing.StatusPendingInsurance,
	invoicing.StatusPartiallyPaid, invoicing.StatusPaid, invoicing.StatusOverdue, invoicing.StatusCancelled, invoicing.StatusWrittenOff}

// Routes is the billing API. svc may be nil (for the README and OpenAPI
// checks, which never call a handler).
func Routes(svc *invoicing.Service) []api.Route {
	h := handlers{svc: svc}
	page := func(extra ...[]api.Param) []api.Param {
		out := append([]api.Param{}, api.PageParams...)
		for _, e := range extra {
			out = append(out, e...)
		}
		return out
	}
	invoicePage := httpx.Page[invoicing.Invoice]{}
	return []api.Route{
		{Method: http.MethodPost, Path: billingapi.InvoiceForAppointmentPath, Summary: "Invoice a completed appointment (once; a replay answers the first invoice).",
			Access: api.Services("appointment"), Handler: h.forAppointment, Request: billingapi.InvoiceForAppointment{},
			Response: invoicing.Invoice{}, Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: http.MethodPost, Path: billingapi.InvoiceForMedicationPath, Summary: "Invoice dispensed medication (once per dispense log).",
			Access: api.Services("pharmacy"), Handler: h.forMedication, Request: billingapi.InvoiceForMedication{},
			Response: invoicing.Invoice{}, Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: http.MethodPost, Path: billingapi.InvoiceForLabTestPath, Summary: "Invoice a lab order's tests (once per lab order).",
			Access: api.Services("lab"), Handler: h.forLabTest, Request: billingapi.InvoiceForLabTest{},
			Response: invoicing.Invoice{}, Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
		{Method: http.MethodGet, Path: PathPatientInvoices, Summary: "List a patient's invoices (their own only, for a patient).",
			Access: api.Roles(patient, admin), Handler: h.patientInvoices, Response: invoicePage, Query: page(invoiceFilters)},
		{Method: http.MethodGet, Path: PathInvoice, Summary: "An invoice with its items and payments (its patient; a provider with a claim on it).",
			Access: api.Roles(patient, admin, provider), Handler: h.invoice, Response: invoicing.Invoice{}},
		{Method: http.MethodPost, Path: PathPay, Summary: "The invoice's patient pays by card (gateway token, never card numbers).",
			Access: api.Roles(patient), Handler: h.pay, Request: invoicing.PayRequest{}, Response: invoicing.Payment{},
			Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(true)}, Timeout: 45 * time.Second},
		{Method: http.MethodGet, Path: PathPolicies, Summary: "List a patient's insurance policies.",
			Access: api.Roles(patient, admin), Handler: h.policies, Response: httpx.Page[invoicing.InsurancePolicy]{}, Query: page()},
		{Method: http.MethodPost, Path: PathPolicies, Summary: "Add an insurance policy to a patient.",
			Access: api.Roles(patient, admin), Handler: h.addPolicy, Request: invoicing.PolicyRequest{},
			Response: invoicing.InsurancePolicy{}, Status: http.StatusCreated},
		{Method: http.MethodGet, Path: PathAdminInvoices, Summary: "All invoices, filtered by status, patient and issue dates, sorted.",
			Access: api.Roles(admin), Handler: h.adminInvoices, Response: invoicePage, Query: page(adminInvoiceFilters)},
		{Method: http.MethodPost, Path: PathAdminInvoices, Summary: "Create an invoice by hand (totals computed here).",
			Access: api.Roles(admin), Handler: h.createInvoice, Request: invoicing.CreateInvoiceRequest{},
			Response: invoicing.Invoice{}, Status: http.StatusCreated},
		{Method: http.MethodPut, Path: PathAdminInvoice, Summary: "Discount, tax, due date, issue, cancel or write off; record a cash/bank payment; refund a payment.",
			Access: api.Roles(admin), Handler: h.updateInvoice, Request: invoicing.AdminInvoiceUpdate{}, Response: invoicing.Invoice{},
			Headers: []api.Param{{Name: "Idempotency-Key", Description: "Required with a payment or a refund; a repeated key answers the first answer."}},
			Timeout: 45 * time.Second},
		{Method: http.MethodPost, Path: PathClaims, Summary: "Claim part of the invoice from one of its patient's policies.",
			Access: api.Roles(admin, patient), Handler: h.createClaim, Request: invoicing.ClaimRequest{},
			Response: invoicing.InsuranceClaim{}, Status: http.StatusCreated},
		{Method: http.MethodGet, Path: PathAdminClaims, Summary: "List insurance claims.",
			Access: api.Roles(admin), Handler: h.adminClaims, Response: httpx.Page[invoicing.InsuranceClaim]{}, Query: page(claimFilters)},
		{Method: http.MethodPut, Path: PathAdminClaim, Summary: "Move a claim along its status machine.",
			Access: api.Roles(admin), Handler: h.updateClaim(false), Request: invoicing.ClaimUpdate{}, Response: invoicing.InsuranceClaim{}},
		{Method: http.MethodGet, Path: PathProviderPending, Summary: "Claims awaiting the calling insurance provider (its own policies only).",
			Access: api.Roles(provider), Handler: h.providerPending, Response: httpx.Page[invoicing.InsuranceClaim]{}, Query: page()},
		{Method: http.MethodPut, Path: PathProviderProcess, Summary: "Process one of the provider's claims: review, approve (in part) or reject, record the payout.",
			Access: api.Roles(provider), Handler: h.updateClaim(true), Request: invoicing.ClaimUpdate{}, Response: invoicing.InsuranceClaim{}},
		adminapi.DashboardRoute("billing", "The admin dashboard's figures: invoices outstanding and overdue (count, amount), claims pending (lib/adminapi).", h.svc.Dashboard),
	}
}
