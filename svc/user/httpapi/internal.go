package httpapi

import (
	"net/http"
	"strings"

	"hospital/lib/httpx"
	"hospital/svc/user/accounts"
)

// The lib/userapi endpoints: other services' view of users.

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
	page, err := httpx.NewPage(r, p, count, users)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}
