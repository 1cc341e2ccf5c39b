package httpapi

import (
	"net/http"
	"strings"

	"hospital/lib/httpx"
	"hospital/svc/user/accounts"
)

// The lib/userapi endpoints (other services' view of users) and the lists
// of people signed-in users may see.

func (h handlers) doctors(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	search, err := httpx.TextQuery(r, "search", 150)
	if err != nil {
		return err
	}
	list, n, err := h.svc.Doctors(r.Context(), search, p.Offset(), p.Limit())
	if err != nil {
		return err
	}
	return writePage(w, r, p, n, list)
}

func (h handlers) patients(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	search, err := httpx.TextQuery(r, "search", 150)
	if err != nil {
		return err
	}
	list, n, err := h.svc.Patients(r.Context(), search, p.Offset(), p.Limit())
	if err != nil {
		return err
	}
	return writePage(w, r, p, n, list)
}

func writePage[T any](w http.ResponseWriter, r *http.Request, p httpx.PageParams, count int, results []T) error {
	page, err := httpx.NewPage(r, p, count, results)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h handlers) internalUser(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	u, err := h.svc.UserSummary(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) internalContact(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	c, err := h.svc.Contact(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h handlers) internalList(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	active, err := httpx.BoolQuery(r, "is_active")
	if err != nil {
		return err
	}
	users, count, err := h.svc.Summaries(r.Context(), accounts.ListFilter{
		Role: strings.TrimSpace(r.URL.Query().Get("role")), IsActive: active, Offset: p.Offset(), Limit: p.Limit(),
	})
	if err != nil {
		return err
	}
	return writePage(w, r, p, count, users)
}
