package user

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/lib/problem"
)

// Handlers adapts the Service to HTTP; every rule lives in the Service.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the HTTP handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

func (h *Handlers) register(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in RegisterRequest
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

func (h *Handlers) login(w http.ResponseWriter, r *http.Request) error {
	var in LoginRequest
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

func (h *Handlers) logout(w http.ResponseWriter, r *http.Request) error {
	var in RefreshRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.Logout(r.Context(), in.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handlers) refresh(w http.ResponseWriter, r *http.Request) error {
	var in RefreshRequest
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

func (h *Handlers) verify(w http.ResponseWriter, r *http.Request) error {
	var in VerifyRequest
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

func (h *Handlers) getMe(w http.ResponseWriter, r *http.Request) error {
	u, err := h.svc.Me(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (h *Handlers) putMe(w http.ResponseWriter, r *http.Request) error {
	// Authenticate before reading the body: an anonymous caller gets a 401,
	// not a lecture about their JSON.
	if _, err := h.svc.Me(r.Context()); err != nil {
		return err
	}
	var in UpdateMeRequest
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

func (h *Handlers) changePassword(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.Me(r.Context()); err != nil {
		return err
	}
	var in PasswordChangeRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), in); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Detail{Detail: "Password updated. Please log in again."})
	return nil
}

func (h *Handlers) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in PasswordResetRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Detail{Detail: msgResetSent})
	return nil
}

func (h *Handlers) confirmReset(w http.ResponseWriter, r *http.Request) error {
	var in PasswordResetConfirmRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	if err := h.svc.ConfirmPasswordReset(r.Context(), in); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Detail{Detail: "Password has been reset. You can log in with the new password."})
	return nil
}

func (h *Handlers) jwks(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, h.svc.JWKS())
	return nil
}

func (h *Handlers) serviceToken(w http.ResponseWriter, r *http.Request) error {
	var in ServiceTokenRequest
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

func userIDVar(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["user_id"], 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.NotFound("User not found.")
	}
	return id, nil
}

func (h *Handlers) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := userIDVar(r)
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

func (h *Handlers) adminContactInfo(w http.ResponseWriter, r *http.Request) error {
	id, err := userIDVar(r)
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

func (h *Handlers) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ListFilter{Role: strings.TrimSpace(q.Get("role")), Search: strings.TrimSpace(q.Get("search")), Offset: p.Offset(), Limit: p.Size}
	if v := q.Get("is_active"); v != "" {
		b, ok := parseBool(v)
		if !ok {
			return problem.Field("is_active", "Must be true or false.")
		}
		f.IsActive = &b
	}
	users, count, err := h.svc.ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	if len(users) == 0 && p.Page > 1 {
		return problem.NotFound("Invalid page.")
	}
	page, err := httpx.NewPage(r, p, count, users)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// parseBool accepts what DRF's BooleanFilter does.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off":
		return false, true
	}
	return false, false
}

func (h *Handlers) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	// Only an admin learns anything about the body.
	if _, err := h.svc.requireAdmin(r.Context()); err != nil {
		return err
	}
	key, err := idempotency.KeyFrom(r)
	if err != nil {
		return err
	}
	var in RegisterRequest
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

func (h *Handlers) adminSetActive(active bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := userIDVar(r)
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
