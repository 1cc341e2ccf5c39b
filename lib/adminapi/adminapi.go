// Package adminapi is the admin service's contract with the other services:
// where they deliver audit events (lib/audit builds them) and what they
// answer for the dashboard.
package adminapi

// Service is the admin service's name in Consul.
const Service = "admin"

// AuditEventsPath is POST from every service: one audit event, idempotent on
// its event_id.
const AuditEventsPath = "/api/v1/admin/internal/audit-events/"
