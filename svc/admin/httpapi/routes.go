// Package httpapi is the admin service's HTTP API: the route table (who
// may call what, with which types) and thin handlers over package
// oversight.
package httpapi

import (
	"net/http"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/svc/admin/oversight"
)

// Paths of the admin service (spec section 8, plus the listing, status and
// verification endpoints the spec's operations need).
const (
	PathDashboard      = "/api/v1/admin/dashboard/summary/"
	PathConfigurations = "/api/v1/admin/system-configurations/"
	PathConfiguration  = PathConfigurations + "{key}/"
	PathAuditLogs      = "/api/v1/admin/audit-logs/"
	PathAuditVerify    = PathAuditLogs + "verify/"
	PathRecalculate    = "/api/v1/admin/tasks/recalculate-reports/"
	PathTask           = "/api/v1/admin/tasks/{task_id:[0-9]+}/"
	PathActivity       = "/api/v1/admin/dashboard/daily-activity/"
)

// AuditSenders are the services whose audit events the log takes: every
// service of the platform.
var AuditSenders = []string{"user", "ehr", "appointment", "pharmacy", "billing", "lab", "notification", "admin"}

var admin = api.Roles(auth.RoleAdmin)

var auditQuery = append([]api.Param{
	{Name: "user_id", Type: "integer", Description: "Only what this user did."},
	{Name: "patient_id", Type: "integer", Description: "Only what touched this patient's data."},
	{Name: "service", Description: "Only entries of these services (service_name): repeat or separate with commas."},
	{Name: "action", Description: "Only these actions (action_performed): repeat or separate with commas; '*' matches any run of characters, e.g. '*.read,*.list' for every read."},
	{Name: "outcome", Description: "Only these outcomes: repeat or separate with commas.", Enum: []string{audit.Success, audit.Denied, audit.Failed}},
	{Name: "object_type", Description: "Only entries on objects of this type (invoice, appointment, ...)."},
	{Name: "object_id", Description: "Only entries on this object (with object_type)."},
	{Name: "request_id", Description: "Only entries of one request (X-Request-ID)."},
	{Name: "break_glass", Type: "boolean", Description: "Only break-glass accesses (true) or none of them (false)."},
	{Name: "since", Description: "From this time on: RFC 3339, or a clinic day (YYYY-MM-DD, from its start)."},
	{Name: "until", Description: "Before this time: RFC 3339, or a clinic day (YYYY-MM-DD, up to its end)."},
}, api.PageParams...)

var activityQuery = append([]api.Param{
	{Name: "date_from", Type: "date", Description: "First clinic day (default: 29 days before date_to)."},
	{Name: "date_to", Type: "date", Description: "Last clinic day (default: today)."},
	{Name: "service", Description: "Only this service's rows."},
}, api.PageParams...)

// Routes is the service's API. svc may be nil when only the table is read
// (the README check, the OpenAPI document).
func Routes(svc *oversight.Service) []api.Route {
	h := handlers{svc: svc}
	return []api.Route{
		{Method: http.MethodGet, Path: PathDashboard, Summary: "The dashboard: every service's figures, fetched at once; a service down or slow shows as unavailable, with the reason.",
			Access: admin, Handler: h.dashboard, Response: oversight.Summary{}},
		{Method: http.MethodGet, Path: PathConfigurations, Summary: "Every documented configuration key (set or not) and every extra key set.",
			Access: admin, Handler: h.configurations, Response: []oversight.Configuration{}},
		{Method: http.MethodGet, Path: PathConfiguration, Summary: "One configuration: {key, value, description}, and for a documented key its type and readers.",
			Access: admin, Handler: h.configuration, Response: oversight.Configuration{}},
		{Method: http.MethodPut, Path: PathConfiguration, Summary: "Set a configuration (validated for a documented key); the services use it within seconds; audited with old and new value.",
			Access: admin, Handler: h.putConfiguration, Request: oversight.ConfigurationRequest{}, Response: oversight.Configuration{}},
		{Method: http.MethodGet, Path: PathAuditLogs, Summary: "Search the platform's audit log (newest first); the search is itself audited.",
			Access: admin, Handler: h.auditLogs, Response: httpx.Page[oversight.Entry]{}, Query: auditQuery},
		{Method: http.MethodGet, Path: PathAuditVerify, Summary: "Verify the audit log's hash chain: every missing, altered or unlinked entry, with its position.",
			Access: admin, Handler: h.verify, Response: oversight.Verification{}, Timeout: 2 * time.Minute},
		{Method: http.MethodPost, Path: PathRecalculate, Summary: "Recalculate the daily activity reports (202 with the task; a second request joins a running one).",
			Access: admin, Handler: h.recalculate, Request: oversight.RecalculateRequest{}, OptionalBody: true,
			Response: oversight.Task{}, Status: http.StatusAccepted},
		{Method: http.MethodGet, Path: PathTask, Summary: "A task's status, progress and result.",
			Access: admin, Handler: h.task, Response: oversight.Task{}},
		{Method: http.MethodGet, Path: PathActivity, Summary: "The daily activity reports (per clinic day and service), newest first.",
			Access: admin, Handler: h.activity, Response: httpx.Page[oversight.DailyActivity]{}, Query: activityQuery},
		{Method: http.MethodPost, Path: adminapi.AuditEventsPath, Summary: "Append one audit event (lib/audit) to the log; a replayed event_id answers its first receipt and adds nothing.",
			Access: api.Services(AuditSenders...), Handler: h.ingest, Request: audit.Event{}, Response: adminapi.AuditReceipt{},
			Status: http.StatusCreated, Headers: []api.Param{api.IdempotencyKey(false)}},
	}
}
