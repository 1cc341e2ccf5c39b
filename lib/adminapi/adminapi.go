// Package adminapi is the admin service's contract with the other services:
// where they deliver audit events (lib/audit builds them) and what they
// answer for the dashboard.
package adminapi

// Service is the admin service's name in Consul.
const Service = "admin"

// AuditEventsPath is POST from every service: one audit event, idempotent on
// its event_id.
const AuditEventsPath = "/api/v1/admin/internal/audit-events/"

// DashboardPath is where each service serves its figures for the admin
// dashboard: GET, admitting only the admin service's token, answering a
// flat JSON object of named figures (counts as numbers, money as decimal
// strings), e.g. {"prescriptions_pending_verification": 4}. The service
// names its own path segment: "ehr", "pharmacy", "billing", "lab",
// "users", "appointments", "notifications".
func DashboardPath(segment string) string { return "/api/v1/" + segment + "/internal/dashboard/" }
