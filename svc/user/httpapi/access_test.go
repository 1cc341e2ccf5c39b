package httpapi_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/svc/user/httpapi"
)

// The README's API table is the route table the router enforces.
func TestREADMECarriesTheRouteTable(t *testing.T) {
	if err := api.CheckREADME("../README.md", httpapi.Routes(nil)); err != nil {
		t.Fatal(err)
	}
}

// Who may call each operation, written out by hand: the route table must
// agree with it, and the running service must enforce it. "anon" is no
// token; roles are users' tokens; "svc:<name>" is that service's token.
var accessPolicy = map[string][]string{
	"GET /api/v1/users/.well-known/jwks.json": {"anon", "*"},
	// Client credentials: no token; the secret in the body decides.
	"POST /api/v1/users/internal/service-token/": {"anon", "*"},
	"POST /api/v1/users/register/":               {"anon", "*"},
	"POST /api/v1/users/login/":                  {"anon", "*"},
	"POST /api/v1/users/logout/":                 {"users"},
	"POST /api/v1/users/token/refresh/":          {"anon", "*"},
	"POST /api/v1/users/token/verify/":           {"anon", "*"},
	"GET /api/v1/users/me/":                      {"users"},
	"PUT /api/v1/users/me/":                      {"users"},
	"POST /api/v1/users/password/change/":        {"users"},
	"POST /api/v1/users/password/reset/":         {"anon", "*"},
	"POST /api/v1/users/password/reset/confirm/": {"anon", "*"},
	"GET /api/v1/users/password/reset/page/":     {"anon", "*"},
	"POST /api/v1/users/email/confirm/":          {"anon", "*"},
	"GET /api/v1/users/email/confirm/page/":      {"anon", "*"},
	"GET /api/v1/users/doctors/":                 {"users"},
	"GET /api/v1/users/patients/":                {"DOCTOR", "NURSE", "ADMIN", "PHARMACIST", "LAB_TECHNICIAN"},
	"GET /api/v1/admin/users/":                   {"ADMIN"},
	"POST /api/v1/admin/users/":                  {"ADMIN"},
	"GET /api/v1/admin/users/{}/":                {"ADMIN"},
	"GET /api/v1/admin/users/{}/contact-info/":   {"ADMIN", "svc:notification"},
	"POST /api/v1/admin/users/{}/deactivate/":    {"ADMIN"},
	"POST /api/v1/admin/users/{}/activate/":      {"ADMIN"},
	"POST /api/v1/admin/users/{}/unlock/":        {"ADMIN"},
	"PUT /api/v1/admin/users/{}/":                {"ADMIN"},
	"GET /api/v1/users/internal/users/":          {"svc:pharmacy", "svc:lab", "svc:admin"},
	"GET /api/v1/users/internal/users/{}/": {"svc:appointment", "svc:ehr", "svc:pharmacy", "svc:billing",
		"svc:lab", "svc:admin"},
	"GET /api/v1/users/internal/users/{}/contact-info/": {"svc:notification"},
}

var services = []string{"appointment", "notification", "ehr", "pharmacy", "billing", "lab", "admin", "gateway"}

func admitted(policy []string, who string) bool {
	switch {
	case slices.Contains(policy, "*") || slices.Contains(policy, who):
		return true
	case who == "anon":
		return false
	case strings.HasPrefix(who, "svc:"):
		return false
	default: // a user's role
		return slices.Contains(policy, "users")
	}
}

var pathVar = regexp.MustCompile(`\{[a-z_]+(:[^}]+)?\}`)

// TestAccessMatrix sends every operation as every kind of caller: those the
// policy admits reach the handler (any answer but 401/403), the others are
// refused before it.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, adminPair := e.admin()
	callers := map[string]string{"anon": "", "ADMIN": adminPair.AccessToken}
	e.register("matrix.patient")
	callers[auth.RolePatient] = e.login("matrix.patient", goodPassword).AccessToken
	for _, role := range []string{auth.RoleDoctor, auth.RoleNurse, auth.RolePharmacist, auth.RoleLabTechnician, auth.RoleInsuranceProvider} {
		name := "matrix." + strings.ToLower(role)
		body := regBody(name)
		body["role_name"] = role
		e.call("POST", httpapi.PathAdminUsers, adminPair.AccessToken, body).want(http.StatusCreated)
		callers[role] = e.login(name, goodPassword).AccessToken
	}
	for _, svc := range services {
		tok, err := e.signer.Sign(auth.Identity{Role: auth.RoleService, Service: svc}, time.Minute, "matrix-"+svc)
		if err != nil {
			t.Fatal(err)
		}
		callers["svc:"+svc] = tok
	}

	routes := httpapi.Routes(nil)
	// Logout ends the caller's session: it goes last.
	slices.SortStableFunc(routes, func(a, b api.Route) int {
		return cmpBool(a.Path == httpapi.PathLogout, b.Path == httpapi.PathLogout)
	})
	if len(routes) != len(accessPolicy) {
		t.Errorf("%d routes, %d in the policy: every route needs a line", len(routes), len(accessPolicy))
	}
	for _, rt := range routes {
		key := rt.Method + " " + pathVar.ReplaceAllString(rt.Path, "{}")
		policy, ok := accessPolicy[key]
		if !ok {
			t.Errorf("%s is not in the access policy", key)
			continue
		}
		path := pathVar.ReplaceAllString(rt.Path, "999999")
		for who, tok := range callers {
			var body any
			if rt.Method != http.MethodGet {
				// Enough to pass the door, not to change anything.
				body = `{"refresh_token":"not-a-session"}`
				if rt.Path != httpapi.PathLogout {
					body = `{}`
				}
			}
			r := e.call(rt.Method, path, tok, body)
			refused := r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden
			if want := admitted(policy, who); want == refused {
				t.Errorf("%s as %s: %d (admitted by policy: %v): %s", key, who, r.Status, want, r.Body)
			}
		}
	}
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
