package httpapi

import (
	"context"
	"net/http"
	"slices"

	"hospital/lib/api"
	"hospital/lib/apperr"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/svc/pharmacy/dispensing"
)

// handlers read the request, call the domain and write the answer.
type handlers struct{ svc *dispensing.Service }

// list writes one page of what fetch returns.
func list[T any](w http.ResponseWriter, r *http.Request, fetch func(ctx context.Context, p dispensing.Page) ([]T, int, error)) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, n, err := fetch(r.Context(), dispensing.Page{Limit: p.Limit(), Offset: p.Offset()})
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

func status(r *http.Request, allowed []string) (string, error) {
	s := r.URL.Query().Get("status")
	if s != "" && !slices.Contains(allowed, s) {
		return "", apperr.Field("status", "Select a valid choice.")
	}
	return s, nil
}

func (h handlers) prescribe(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in dispensing.PrescribeRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.Prescribe(r.Context(), key, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, res.Status, res.Value)
	return nil
}

func (h handlers) patientPrescriptions(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return err
	}
	st, err := status(r, dispensing.Statuses)
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p dispensing.Page) ([]dispensing.Prescription, int, error) {
		return h.svc.PatientPrescriptions(ctx, id, dispensing.PrescriptionFilter{Status: st}, p)
	})
}

func (h handlers) prescription(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "prescription_id", 64)
	if err != nil {
		return err
	}
	p, err := h.svc.Prescription(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h handlers) cancel(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "prescription_id", 64)
	if err != nil {
		return err
	}
	var in dispensing.CancelRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	p, err := h.svc.Cancel(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h handlers) pending(w http.ResponseWriter, r *http.Request) error {
	st, err := status(r, []string{dispensing.StatusPendingVerification, dispensing.StatusVerified, dispensing.StatusDispensedPartial})
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p dispensing.Page) ([]dispensing.Prescription, int, error) {
		return h.svc.Pending(ctx, dispensing.PrescriptionFilter{Status: st}, p)
	})
}

func (h handlers) verify(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "prescription_id", 64)
	if err != nil {
		return err
	}
	if err := httpx.DecodeOptional(r, &api.NoBody{}); err != nil {
		return err
	}
	p, err := h.svc.Verify(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h handlers) dispense(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "prescription_id", 64)
	if err != nil {
		return err
	}
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in dispensing.DispenseRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.Dispense(r.Context(), id, key, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, res.Status, res.Value)
	return nil
}

func (h handlers) dispenseLog(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "dispense_log_id", 64)
	if err != nil {
		return err
	}
	d, err := h.svc.DispenseLog(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (h handlers) stock(w http.ResponseWriter, r *http.Request) error {
	low, err := httpx.BoolQuery(r, "low_stock")
	if err != nil {
		return err
	}
	days, err := httpx.IntQuery(r, "expiring_within_days", 1, 365)
	if err != nil {
		return err
	}
	search, err := httpx.TextQuery(r, "search", 200)
	if err != nil {
		return err
	}
	f := dispensing.StockFilter{LowStock: low, Search: search}
	if days != nil {
		f.ExpiringWithinDays = int(*days)
	}
	return list(w, r, func(ctx context.Context, p dispensing.Page) ([]dispensing.StockView, int, error) {
		return h.svc.StockList(ctx, f, p)
	})
}

func (h handlers) updateStock(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "medication_id", 64)
	if err != nil {
		return err
	}
	var in dispensing.StockUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	v, err := h.svc.UpdateStock(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (h handlers) movements(w http.ResponseWriter, r *http.Request) error {
	kind := r.URL.Query().Get("kind")
	if kind != "" && !slices.Contains(dispensing.MovementKinds, kind) {
		return apperr.Field("kind", "Select a valid choice.")
	}
	id, err := httpx.PathString(r, "medication_id", 64)
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p dispensing.Page) ([]dispensing.Movement, int, error) {
		return h.svc.Movements(ctx, id, dispensing.MovementFilter{Kind: kind}, p)
	})
}

func (h handlers) catalog(w http.ResponseWriter, r *http.Request) error {
	search, err := httpx.TextQuery(r, "search", 200)
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, p dispensing.Page) ([]dispensing.Medication, int, error) {
		return h.svc.Medications(ctx, search, p)
	})
}

func (h handlers) createMedication(w http.ResponseWriter, r *http.Request) error {
	var in dispensing.MedicationRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	m, err := h.svc.CreateMedication(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, m)
	return nil
}

func (h handlers) stockAlert(w http.ResponseWriter, r *http.Request) error {
	var in dispensing.StockAlert
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.NotifyStockLow(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}
