package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/billingapi"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/svc/billing/invoicing"
)

// handlers read the request, call the domain and write the answer.
type handlers struct{ svc *invoicing.Service }

func key(r *http.Request) (string, error) { return idempotency.KeyFrom(r) }

func created[T any](w http.ResponseWriter, res invoicing.Result[T], err error) error {
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, res.Status, res.Value)
	return nil
}

func (h handlers) forAppointment(w http.ResponseWriter, r *http.Request) error {
	var in billingapi.InvoiceForAppointment
	k, err := key(r)
	if err != nil {
		return err
	}
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.InvoiceForAppointment(r.Context(), k, in)
	return created(w, res, err)
}

func (h handlers) forMedication(w http.ResponseWriter, r *http.Request) error {
	var in billingapi.InvoiceForMedication
	k, err := key(r)
	if err != nil {
		return err
	}
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.InvoiceForMedication(r.Context(), k, in)
	return created(w, res, err)
}

func (h handlers) forLabTest(w http.ResponseWriter, r *http.Request) error {
	var in billingapi.InvoiceForLabTest
	k, err := key(r)
	if err != nil {
		return err
	}
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.InvoiceForLabTest(r.Context(), k, in)
	return created(w, res, err)
}

// list writes one page of what fetch returns.
func list[T any](w http.ResponseWriter, r *http.Request, fetch func(ctx context.Context, p invoicing.Page) ([]T, int, error)) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, n, err := fetch(r.Context(), invoicing.Page{Limit: p.Limit(), Offset: p.Offset()})
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, n, items)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// statuses reads ?status= (repeatable, comma-separated) against allowed.
func statuses(r *http.Request, allowed []string) ([]string, error) {
	var out []string
	for _, v := range r.URL.Query()["status"] {
		for _, s := range strings.Split(v, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			if s == "" {
				continue
			}
			if !slices.Contains(allowed, s) {
				return nil, apperr.Field("status", "Select a valid choice: "+strings.Join(allowed, ", ")+".")
			}
			out = append(out, s)
		}
	}
	return out, nil
}

var invoiceOrderings = []string{"issue_date", "due_date", "total_amount", "status", "invoice_number", "id", "patient_id"}

func invoiceFilter(r *http.Request) (invoicing.InvoiceFilter, error) {
	var f invoicing.InvoiceFilter
	var err error
	if f.Statuses, err = statuses(r, invoiceStatuses); err != nil {
		return f, err
	}
	for name, dst := range map[string]**invoicing.Date{"date_from": &f.From, "date_to": &f.To} {
		d, err := httpx.DateQuery(r, name, time.UTC)
		if err != nil {
			return f, err
		}
		if d != nil {
			day := invoicing.DateOf(*d)
			*dst = &day
		}
	}
	if o := r.URL.Query().Get("ordering"); o != "" {
		if !slices.Contains(invoiceOrderings, strings.TrimPrefix(o, "-")) {
			return f, apperr.Field("ordering", "Order by one of: "+strings.Join(invoiceOrderings, ", ")+" ('-' first for descending).")
		}
		f.Ordering = o
	}
	return f, nil
}

func (h handlers) patientInvoices(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return err
	}
	f, err := invoiceFilter(r)
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p invoicing.Page) ([]invoicing.Invoice, int, error) {
		return h.svc.PatientInvoices(ctx, id, f, p)
	})
}

func (h handlers) adminInvoices(w http.ResponseWriter, r *http.Request) error {
	f, err := invoiceFilter(r)
	if err != nil {
		return err
	}
	if f.PatientID, err = httpx.IntQuery(r, "patient_id", 1, 1<<62); err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p invoicing.Page) ([]invoicing.Invoice, int, error) {
		return h.svc.AdminInvoices(ctx, f, p)
	})
}

func (h handlers) invoice(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "invoice_id")
	if err != nil {
		return err
	}
	inv, err := h.svc.Invoice(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inv)
	return nil
}

func (h handlers) pay(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "invoice_id")
	if err != nil {
		return err
	}
	k, err := key(r)
	if err != nil {
		return err
	}
	var in invoicing.PayRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.Pay(r.Context(), id, k, in)
	return created(w, res, err)
}

func (h handlers) policies(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p invoicing.Page) ([]invoicing.InsurancePolicy, int, error) {
		return h.svc.Policies(ctx, id, p)
	})
}

func (h handlers) addPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return err
	}
	var in invoicing.PolicyRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	p, err := h.svc.AddPolicy(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, p)
	return nil
}

func (h handlers) createInvoice(w http.ResponseWriter, r *http.Request) error {
	var in invoicing.CreateInvoiceRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	inv, err := h.svc.CreateInvoice(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, inv)
	return nil
}

func (h handlers) updateInvoice(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "invoice_id")
	if err != nil {
		return err
	}
	k, err := key(r)
	if err != nil {
		return err
	}
	var in invoicing.AdminInvoiceUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	inv, err := h.svc.UpdateInvoice(r.Context(), id, k, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inv)
	return nil
}

func (h handlers) createClaim(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "invoice_id")
	if err != nil {
		return err
	}
	var in invoicing.ClaimRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	c, err := h.svc.CreateClaim(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

var claimStatuses = []string{invoicing.ClaimSubmitted, invoicing.ClaimProcessing, invoicing.ClaimAwaitingDocuments, invoicing.ClaimApproved,
	invoicing.ClaimPartiallyApproved, invoicing.ClaimRejected, invoicing.ClaimPaidByInsurer, invoicing.ClaimClosed}

func (h handlers) adminClaims(w http.ResponseWriter, r *http.Request) error {
	var f invoicing.ClaimFilter
	var err error
	if f.Statuses, err = statuses(r, claimStatuses); err != nil {
		return err
	}
	if f.PatientID, err = httpx.IntQuery(r, "patient_id", 1, 1<<62); err != nil {
		return err
	}
	if f.ProviderID, err = httpx.IntQuery(r, "insurance_provider_id", 1, 1<<62); err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p invoicing.Page) ([]invoicing.InsuranceClaim, int, error) {
		return h.svc.AdminClaims(ctx, f, p)
	})
}

func (h handlers) providerPending(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, h.svc.ProviderPendingClaims)
}

func (h handlers) updateClaim(asProvider bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := httpx.PathInt64(r, "claim_id")
		if err != nil {
			return err
		}
		var in invoicing.ClaimUpdate
		if err := httpx.Decode(r, &in); err != nil {
			return err
		}
		c, err := h.svc.UpdateClaim(r.Context(), id, in, asProvider)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, c)
		return nil
	}
}
