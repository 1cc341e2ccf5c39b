// Package adminapi is the admin service's contract with the other services:
// where they deliver audit events (lib/audit builds them) and what they
// answer for the dashboard.
package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"hospital/lib/api"
	"hospital/lib/httpx"
	"hospital/lib/svcclient"
)

// Service is the admin service's name in Consul.
const Service = "admin"

// AuditEventsPath is POST from every service: one audit event, idempotent on
// its event_id.
const AuditEventsPath = "/api/v1/admin/internal/audit-events/"

// AuditReceipt is the answer to an audit event: where it stands in the
// chain. A replay of an event_id answers the first receipt, with Duplicate
// set, and adds nothing.
type AuditReceipt struct {
	EventID   string `json:"event_id"`
	Position  int64  `json:"position"`
	Duplicate bool   `json:"duplicate"`
}

// DashboardPath is where each service serves its figures for the admin
// dashboard: GET, admitting only the admin service's token, answering a
// flat JSON object of named figures (counts as numbers, money as decimal
// strings), e.g. {"prescriptions_pending_verification": 4}. The service
// names its own path segment: "ehr", "pharmacy", "billing", "lab",
// "users", "appointments", "notifications".
func DashboardPath(segment string) string { return "/api/v1/" + segment + "/internal/dashboard/" }

// DashboardRoute is the route a service serves its figures on: GET at
// DashboardPath(segment), for the admin service's token only, never cached
// (the figures are of now). figures computes them; T documents them.
func DashboardRoute[T any](segment, summary string, figures func(context.Context) (T, error)) api.Route {
	var doc T
	return api.Route{
		Method: http.MethodGet, Path: DashboardPath(segment), Summary: summary,
		Access: api.Services(Service), Response: doc,
		Handler: func(w http.ResponseWriter, r *http.Request) error {
			f, err := figures(r.Context())
			if err != nil {
				return err
			}
			w.Header().Set("Cache-Control", "no-store")
			httpx.WriteJSON(w, http.StatusOK, f)
			return nil
		},
	}
}

// Section is one part of the dashboard: its name (the segment of
// DashboardPath) and the service that serves it.
type Section struct {
	Name    string
	Service string
}

// Sections are the dashboard's parts, in the order it shows them.
var Sections = []Section{
	{Name: "users", Service: "user"},
	{Name: "appointments", Service: "appointment"},
	{Name: "ehr", Service: "ehr"},
	{Name: "pharmacy", Service: "pharmacy"},
	{Name: "billing", Service: "billing"},
	{Name: "lab", Service: "lab"},
	{Name: "notifications", Service: "notification"},
}

// Figures is one service's answer at DashboardPath, figure by figure.
type Figures map[string]json.RawMessage

// Client fetches dashboard figures with the admin service's token.
type Client struct{ c *svcclient.Client }

// NewClient returns a client sending through c.
func NewClient(c *svcclient.Client) Client { return Client{c: c} }

// Figures asks the service of s for its figures; the caller's deadline
// bounds the call, retries included (a dashboard waits for nobody).
func (c Client) Figures(ctx context.Context, s Section) (Figures, error) {
	resp, err := c.c.Do(ctx, svcclient.Request{Service: s.Service, Method: http.MethodGet, Path: DashboardPath(s.Name)})
	if err != nil {
		return nil, fmt.Errorf("dashboard figures of %s: %w", s.Service, err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("dashboard figures of %s: %w", s.Service,
			&svcclient.StatusError{Service: s.Service, Status: resp.Status, Body: resp.Body})
	}
	var f Figures
	if err := json.Unmarshal(resp.Body, &f); err != nil {
		return nil, fmt.Errorf("dashboard figures of %s: not a JSON object: %w", s.Service, err)
	}
	return f, nil
}
