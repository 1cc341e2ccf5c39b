// Package api declares a service's HTTP API once. Each Route names its
// method, path, who may call it, its request and response types and its
// handler; from that one table come the router (which refuses a caller the
// route does not admit before the handler runs), the routes the gateway is
// told about, and the OpenAPI document. A service therefore cannot serve an
// endpoint its document does not describe, or advertise one it does not serve.
package api

import (
	"fmt"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"hospital/lib/auth"
	"hospital/lib/httpx"
)

// Route is one operation: a method on a path.
type Route struct {
	Method string
	// Path is a gorilla/mux template. A variable with the pattern [0-9]+
	// ("{user_id:[0-9]+}") is an integer in the document; others are strings.
	Path    string
	Summary string
	// Description is optional longer prose for the document.
	Description string
	Access      Access
	Handler     httpx.HandlerFunc
	// Request is a value of the body type (nil: no body). Validation tags
	// (required, max, oneof, ...) become the schema's constraints.
	Request any
	// OptionalBody: the body may be left out (see httpx.DecodeOptional).
	OptionalBody bool
	// Response is a value of the success body type (nil: no body).
	Response any
	// Status is the success status (200 when zero).
	Status int
	// OtherStatuses are further success statuses with the same body (e.g.
	// 200 for a send done at once beside 202 for one queued).
	OtherStatuses []int
	// Query and Headers are the parameters the operation reads.
	Query   []Param
	Headers []Param
	// Timeout is the gateway's deadline for this route (DefaultTimeout when zero).
	Timeout time.Duration
}

// NoBody is the Request of an operation that takes no fields: an empty body
// or an empty JSON object (with OptionalBody), anything else is refused.
type NoBody struct{}

// DefaultTimeout is the gateway's deadline for a route that sets none.
const DefaultTimeout = 10 * time.Second

// Param is a query or header parameter.
type Param struct {
	Name        string
	Description string
	// Type is string (default), integer, boolean, number, date or date-time.
	Type     string
	Enum     []string
	Required bool
}

// IdempotencyKey is the Idempotency-Key header, for operations that honour it.
func IdempotencyKey(required bool) Param {
	return Param{Name: "Idempotency-Key", Required: required,
		Description: "Makes a retry safe: a repeated key answers the first answer; the same key with another body is a 422."}
}

// PageParams are DRF's page and page_size, for list operations.
var PageParams = []Param{
	{Name: "page", Type: "integer", Description: "1-based page number; a page past the end is 404 \"Invalid page.\""},
	{Name: "page_size", Type: "integer", Description: fmt.Sprintf("Items per page (default %d, at most %d).", httpx.DefaultPageSize, httpx.MaxPageSize)},
}

// Access says who may call a route. The zero value admits nobody, so a
// route that forgets to say is closed, not open.
type Access struct {
	public      bool
	credentials bool
	anyUser     bool
	roles       []string
	services    []string
}

// Public admits anyone, with or without a token.
func Public() Access { return Access{public: true} }

// ClientCredentials admits callers without a token on an internal path: a
// service obtaining its token with its client secret, which the handler
// checks. It is the one internal route a service calls before it holds a
// token.
func ClientCredentials() Access { return Access{public: true, credentials: true} }

// AnyUser admits every signed-in user, whatever their role (not services).
func AnyUser() Access { return Access{anyUser: true} }

// Roles admits signed-in users with one of roles.
func Roles(roles ...string) Access { return Access{roles: roles} }

// Services admits the service tokens of the named services only.
func Services(names ...string) Access { return Access{services: names} }

// OrServices also admits the service tokens of the named services.
func (a Access) OrServices(names ...string) Access {
	a.services = append(slices.Clone(a.services), names...)
	return a
}

// IsPublic reports whether the route needs no token.
func (a Access) IsPublic() bool { return a.public }

// Admits returns nil when the caller (id, present when signed in) may call
// the route, or the reason they may not: unauthenticated or forbidden.
func (a Access) Admits(id auth.Identity, signedIn bool) error {
	if a.public {
		return nil
	}
	if !signedIn {
		return errNoCredentials
	}
	if id.IsService() {
		if slices.Contains(a.services, id.Service) {
			return nil
		}
		return errServiceForbidden
	}
	if a.anyUser || (id.Role != auth.RoleService && slices.Contains(a.roles, id.Role)) {
		return nil
	}
	return errForbidden
}

// String is the access as the authorization tables in the READMEs and the
// OpenAPI document show it.
func (a Access) String() string {
	var parts []string
	switch {
	case a.credentials:
		return "a service, with its client secret"
	case a.public:
		return "anyone"
	case a.anyUser:
		parts = append(parts, "any signed-in user")
	case len(a.roles) > 0:
		parts = append(parts, strings.Join(a.roles, ", "))
	}
	if len(a.services) > 0 {
		parts = append(parts, "service "+strings.Join(a.services, ", "))
	}
	if len(parts) == 0 {
		return "nobody"
	}
	return strings.Join(parts, "; ")
}

// internalSegment marks service-to-service paths, which the gateway never
// routes and only service tokens may call.
const internalSegment = "/internal/"

// IsInternal reports whether r is a service-to-service endpoint.
func (r Route) IsInternal() bool { return strings.Contains(r.Path, internalSegment) }

func (r Route) status() int {
	if r.Status == 0 {
		return http.StatusOK
	}
	return r.Status
}

func (r Route) timeout() time.Duration {
	if r.Timeout == 0 {
		return DefaultTimeout
	}
	return r.Timeout
}

var pathVar = regexp.MustCompile(`\{([a-z_][a-z0-9_]*)(?::([^{}]+))?\}`)

// Check reports a route table that must not be served: a duplicate
// operation, a route without a handler or access, or an internal route that
// admits anything but named services.
func Check(routes []Route) error {
	seen := map[string]bool{}
	for _, r := range routes {
		op := r.Method + " " + r.Path
		switch {
		case r.Handler == nil:
			return fmt.Errorf("api: %s has no handler", op)
		case !strings.HasPrefix(r.Path, "/") || !(strings.HasSuffix(r.Path, "/") || strings.Contains(path.Base(r.Path), ".")):
			return fmt.Errorf("api: %s: paths start with a slash and end with one or a file name", op)
		case seen[op]:
			return fmt.Errorf("api: %s declared twice", op)
		case r.Access.String() == "nobody":
			return fmt.Errorf("api: %s admits nobody: declare its Access", op)
		case r.IsInternal() && !r.Access.credentials && (r.Access.public || r.Access.anyUser || len(r.Access.roles) > 0 || len(r.Access.services) == 0):
			return fmt.Errorf("api: internal route %s must admit only named services", op)
		case r.Access.credentials && !r.IsInternal():
			return fmt.Errorf("api: %s: client credentials belong on an internal path", op)
		case !r.IsInternal() && r.Access.public && len(r.Access.services) > 0:
			return fmt.Errorf("api: %s is public; listing services means nothing", op)
		}
		seen[op] = true
	}
	return nil
}
