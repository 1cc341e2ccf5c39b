package httpapi

import (
	"context"
	"net/http"
	"slices"

	"hospital/lib/apperr"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/svc/lab/laboratory"
)

// handlers read the request, call the domain and write the answer.
type handlers struct{ svc *laboratory.Service }

// Path variables longer than these name nothing (404).
const (
	maxIDLen  = 24
	maxItemID = 36
)

func orderID(r *http.Request) (string, error) { return httpx.PathString(r, "order_id", maxIDLen) }

func (h handlers) createOrder(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in laboratory.OrderRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	o, status, err := h.svc.CreateOrder(r.Context(), key, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, o)
	return nil
}

// list writes one page of what fetch returns.
func list[T any](w http.ResponseWriter, r *http.Request, fetch func(ctx context.Context, limit, offset int) ([]T, int, error)) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, n, err := fetch(r.Context(), p.Limit(), p.Offset())
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

func (h handlers) patientResults(w http.ResponseWriter, r *http.Request) error {
	patientID, err := httpx.PathInt64(r, "patient_id")
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(laboratory.Statuses, status) {
		return apperr.Field("status", "Must be one of REQUESTED, SAMPLE_COLLECTED, PROCESSING, RESULTS_PENDING_REVIEW, COMPLETED, CANCELLED.")
	}
	return list(w, r, func(ctx context.Context, limit, offset int) ([]laboratory.Order, int, error) {
		return h.svc.PatientResults(ctx, patientID, status, limit, offset)
	})
}

func (h handlers) orderResults(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	o, err := h.svc.OrderResults(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (h handlers) pending(w http.ResponseWriter, r *http.Request) error {
	return list(w, r, h.svc.Pending)
}

func (h handlers) orderStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	var in laboratory.OrderStatusUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	o, err := h.svc.SetOrderStatus(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (h handlers) itemStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	item, err := httpx.PathString(r, "item_id", maxItemID)
	if err != nil {
		return err
	}
	var in laboratory.ItemStatusUpdate
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	o, err := h.svc.SetItemStatus(r.Context(), id, item, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (h handlers) enterResult(w http.ResponseWriter, r *http.Request) error {
	id, err := orderID(r)
	if err != nil {
		return err
	}
	item, err := httpx.PathString(r, "item_id", maxItemID)
	if err != nil {
		return err
	}
	var in laboratory.ResultRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	o, err := h.svc.EnterResult(r.Context(), id, item, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, o)
	return nil
}

func (h handlers) tests(w http.ResponseWriter, r *http.Request) error {
	retired, err := httpx.BoolQuery(r, "include_retired")
	if err != nil {
		return err
	}
	return list(w, r, func(ctx context.Context, limit, offset int) ([]laboratory.CatalogTest, int, error) {
		return h.svc.Tests(ctx, retired != nil && *retired, limit, offset)
	})
}

func (h handlers) createTest(w http.ResponseWriter, r *http.Request) error {
	var in laboratory.CatalogTestRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	t, err := h.svc.CreateTest(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h handlers) test(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "test_id", maxIDLen)
	if err != nil {
		return err
	}
	t, err := h.svc.Test(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h handlers) updateTest(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "test_id", maxIDLen)
	if err != nil {
		return err
	}
	var in laboratory.CatalogTestRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	t, err := h.svc.UpdateTest(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h handlers) retireTest(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "test_id", maxIDLen)
	if err != nil {
		return err
	}
	if err := h.svc.RetireTest(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
