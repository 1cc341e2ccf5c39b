package httpapi

import (
	"net/http"
	"strings"

	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/svc/user/accounts"
)

// handlers read the request, call the domain and write the answer; every
// rule lives in accounts.
type handlers struct{ svc *accounts.Service }

func (h handlers) register(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in accounts.RegisterRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	u, err := h.svc.Register(r.Context(), in, key)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (h handlers) login(w http.ResponseWriter, r *http.Request) error {
	var in accounts.LoginRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	pair, err := h.svc.Login(r.Context(), in)
	if err != nil {
		return err
	}
	writeNoStore(w, http.StatusOK, pair)
	return nil
}

func (h handlers) logout(w http.ResponseWriter, r *http.Request) error {
	var in accounts.LogoutRequest
	if err := httpx.DecodeOptional(r, &in); err != nil {
		return err
	}
	if err := h.svc.Logout(r.Context(), in.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h handlers) refresh(w http.ResponseWriter, r *http.Request) error {
	var in accounts.RefreshRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	pair, err := h.svc.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	writeNoStore(w, http.StatusOK, pair)
	return nil
}

func (h handlers) verify(w http.ResponseWriter, r *http.Request) error {
	var in accounts.VerifyRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	u, err := h.svc.VerifyToken(r.Context(), in.Token)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) getMe(w http.ResponseWriter, r *http.Request) error {
	u, err := h.svc.Me(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) putMe(w http.ResponseWriter, r *http.Request) error {
	var in accounts.UpdateMeRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	u, err := h.svc.UpdateMe(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in accounts.PasswordChangeRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), in); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, accounts.Detail{Detail: "Password updated. Please log in again."})
	return nil
}

func (h handlers) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in accounts.PasswordResetRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, accounts.Detail{Detail: accounts.ResetSentMessage})
	return nil
}

func (h handlers) confirmReset(w http.ResponseWriter, r *http.Request) error {
	var in accounts.PasswordResetConfirmRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.ConfirmPasswordReset(r.Context(), in); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, accounts.Detail{Detail: "Password has been reset. You can log in with the new password."})
	return nil
}

func (h handlers) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	var in accounts.EmailConfirmRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	out, err := h.svc.ConfirmEmail(r.Context(), in.Token)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h handlers) jwks(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, h.svc.JWKS())
	return nil
}

func (h handlers) serviceToken(w http.ResponseWriter, r *http.Request) error {
	var in accounts.ServiceTokenRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	out, err := h.svc.IssueServiceToken(r.Context(), in)
	if err != nil {
		return err
	}
	writeNoStore(w, http.StatusOK, out)
	return nil
}

// --- admin ---

func (h handlers) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	u, err := h.svc.GetUser(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) adminContactInfo(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	c, err := h.svc.ContactInfo(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h handlers) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	active, err := httpx.BoolQuery(r, "is_active")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := accounts.ListFilter{
		Role: strings.TrimSpace(q.Get("role")), Search: strings.TrimSpace(q.Get("search")), IsActive: active,
		Offset: p.Offset(), Limit: p.Limit(),
	}
	users, count, err := h.svc.ListUsers(r.Context(), f)
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

func (h handlers) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in accounts.RegisterRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	u, err := h.svc.CreateUser(r.Context(), in, key)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (h handlers) adminUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	var in accounts.AdminUpdateRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	u, err := h.svc.AdminUpdate(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) adminUnlock(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "user_id")
	if err != nil {
		return err
	}
	u, err := h.svc.Unlock(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h handlers) adminSetActive(active bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := httpx.PathInt64(r, "user_id")
		if err != nil {
			return err
		}
		u, err := h.svc.SetActive(r.Context(), id, active)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, u)
		return nil
	}
}

// writeNoStore answers with credentials, which no cache may keep.
func writeNoStore(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, status, v)
}
