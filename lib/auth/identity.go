package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/logging"
	"hospital/lib/problem"
)

// Identity is who is calling: a user (UserID, Role) or a service (Service,
// Role SERVICE).
type Identity struct {
	UserID   int64
	Role     string
	Username string
	Service  string
	TokenID  string
	// SessionID is the sign-in a user's token belongs to ("" for services).
	SessionID string
	// IssuedAt and ExpiresAt are the token's iat (milliseconds) and exp.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// IsService reports whether the caller is one of the platform's services.
func (id Identity) IsService() bool { return id.Role == RoleService && id.Service != "" }

// HasRole reports whether the caller has one of roles.
func (id Identity) HasRole(roles ...string) bool { return slices.Contains(roles, id.Role) }

// IsUser reports whether the caller is the user with the given id.
func (id Identity) IsUser(userID int64) bool { return id.UserID != 0 && id.UserID == userID }

// LogID is how the caller appears in logs: a user id or "svc:<name>".
func (id Identity) LogID() string {
	if id.IsService() {
		return "svc:" + id.Service
	}
	if id.UserID != 0 {
		return strconv.FormatInt(id.UserID, 10)
	}
	return ""
}

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the caller's identity and whether the request carried one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// Middleware verifies a bearer token when one is present and puts the
// identity in the context; a present but invalid token is a 401. Requests
// without a token pass anonymously: Require decides whether that is allowed.
func Middleware(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := BearerToken(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			id, err := v.Verify(r.Context(), raw)
			if err != nil {
				p := problem.Unauthorized("Given token not valid for any token type.")
				if !errors.Is(err, ErrInvalidToken) {
					// The key set could not be fetched: not the caller's fault.
					p = problem.Unavailable("Cannot verify tokens right now.", 5*time.Second)
				}
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				problem.Write(w, r, p)
				return
			}
			logging.FieldsFrom(r.Context()).SetUser(id.LogID())
			next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
		})
	}
}

// Caller returns the authenticated identity, or a 401 problem.
func Caller(ctx context.Context) (Identity, error) {
	id, ok := FromContext(ctx)
	if !ok {
		return Identity{}, apperr.Unauthenticated("Authentication credentials were not provided.")
	}
	return id, nil
}

// RequireRole returns the caller if they have one of roles: 401 when
// anonymous, 403 otherwise.
func RequireRole(ctx context.Context, roles ...string) (Identity, error) {
	id, err := Caller(ctx)
	if err != nil {
		return id, err
	}
	if !id.HasRole(roles...) {
		return id, apperr.Forbidden("You do not have permission to perform this action.")
	}
	return id, nil
}

// RequireService admits only service tokens (what every /internal/ endpoint
// demands), optionally only from the named services.
func RequireService(ctx context.Context, services ...string) (Identity, error) {
	id, err := Caller(ctx)
	if err != nil {
		return id, err
	}
	if !id.IsService() || (len(services) > 0 && !slices.Contains(services, id.Service)) {
		return id, apperr.Forbidden("Only platform services may call this endpoint.")
	}
	return id, nil
}

// RequireSelfOr admits the user userID themself, or any caller with one of
// roles (staff, or SERVICE for service calls).
func RequireSelfOr(ctx context.Context, userID int64, roles ...string) (Identity, error) {
	id, err := Caller(ctx)
	if err != nil {
		return id, err
	}
	if id.IsUser(userID) || id.HasRole(roles...) {
		return id, nil
	}
	return id, apperr.Forbidden("You do not have permission to access this resource.")
}

// TokenSource supplies the bearer token a service sends on outgoing calls.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}
