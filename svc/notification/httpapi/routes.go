// Package httpapi is the notification service's HTTP API: the route table
// (who may call what, the request and answer types) and thin handlers over
// the notify package.
package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/notificationapi"
	"hospital/svc/notification/notify"
)

// Paths of the notification service (spec section 7, plus the log detail,
// retry and type list an operator needs).
const (
	PathSend      = notificationapi.SendPath
	PathTemplates = "/api/v1/admin/notification-templates/"
	PathTemplate  = PathTemplates + "{template_id}/"
	PathLogs      = "/api/v1/admin/notification-logs/"
	PathLog       = PathLogs + "{log_id}/"
	PathLogRetry  = PathLog + "retry/"
	PathTypes     = "/api/v1/admin/notification-types/"
)

// Senders are the services that send notifications (their types are in
// notificationapi.Senders), sorted.
func Senders() []string { return slices.Sorted(maps.Keys(notificationapi.Senders)) }

// Routes is the service's API over svc (nil: the table alone, for the
// README and the document).
func Routes(svc *notify.Service) []api.Route {
	h := handlers{svc: svc}
	admin := api.Roles(auth.RoleAdmin)
	senders := api.Roles(auth.RoleAdmin).OrServices(Senders()...)
	page := api.PageParams
	return []api.Route{
		{
			Method: http.MethodPost, Path: PathSend, Access: senders, Handler: h.send,
			Summary: "Send a notification: queued (202), or delivered before the answer when urgent or sensitive.",
			Description: "A service may send only its own notification types (lib/notificationapi.Senders); an administrator any. " +
				"An urgent or sensitive request answers 200 once delivered (SENT or FAILED); a sensitive request's data and message are never stored, " +
				"and one that cannot be delivered now answers 503 for the sender to send it again.",
			Request: notify.SendInput{}, Response: notify.SendAnswer{}, Status: http.StatusAccepted, OtherStatuses: []int{http.StatusOK},
			Headers: []api.Param{api.IdempotencyKey(false)},
			// An urgent send waits for the provider.
			Timeout: svc.SendTimeout() + 10*time.Second,
		},
		{
			Method: http.MethodGet, Path: PathTemplates, Access: admin, Handler: h.listTemplates,
			Summary: "List templates.", Response: pageOf[notify.Template](),
			Query: append([]api.Param{
				{Name: "notification_type"}, {Name: "channel", Enum: notify.Channels}, {Name: "language"},
				{Name: "is_active", Type: "boolean"},
			}, page...),
		},
		{
			Method: http.MethodPost, Path: PathTemplates, Access: admin, Handler: h.createTemplate,
			Summary: "Create a template; (type, channel, language) is unique.",
			Request: notify.TemplateInput{}, Response: notify.Template{}, Status: http.StatusCreated,
		},
		{
			Method: http.MethodGet, Path: PathTemplate, Access: admin, Handler: h.getTemplate,
			Summary: "Read a template.", Response: notify.Template{},
		},
		{
			Method: http.MethodPut, Path: PathTemplate, Access: admin, Handler: h.updateTemplate,
			Summary: "Replace a template.", Request: notify.TemplateInput{}, Response: notify.Template{},
		},
		{
			Method: http.MethodDelete, Path: PathTemplate, Access: admin, Handler: h.deleteTemplate,
			Summary: "Delete a template.", Status: http.StatusNoContent,
		},
		{
			Method: http.MethodGet, Path: PathLogs, Access: senders, Handler: h.listLogs,
			Summary:     "List delivery logs, newest first (a service: its own requests' logs, without content).",
			Description: "Rendered messages, payloads and full addresses are shown to ADMIN only, until the retention period ends.",
			Response:    pageOf[notify.LogView](),
			Query: append([]api.Param{
				{Name: "recipient_id", Type: "integer"}, {Name: "recipient", Type: "integer", Description: "Same as recipient_id."},
				{Name: "notification_type"}, {Name: "channel", Enum: notify.Channels}, {Name: "status", Enum: notify.Statuses},
				{Name: "date_from", Description: "A date (YYYY-MM-DD) or RFC 3339 time: created at or after."},
				{Name: "date_to", Description: "A date (the whole day) or RFC 3339 time: created before."},
				{Name: "created_after", Description: "Same as date_from."}, {Name: "created_before", Description: "Same as date_to."},
			}, page...),
			Timeout: 15 * time.Second,
		},
		{
			Method: http.MethodGet, Path: PathLog, Access: senders, Handler: h.getLog,
			Summary: "Read a delivery log (a service: one of its own requests', without content).", Response: notify.LogView{},
		},
		{
			Method: http.MethodPost, Path: PathLogRetry, Access: admin, Handler: h.retryLog,
			Summary: "Queue a FAILED log again with a fresh set of attempts.", Response: notify.LogView{}, Status: http.StatusAccepted,
		},
		{
			Method: http.MethodGet, Path: PathTypes, Access: admin, Handler: h.listTypes,
			Summary: "List the types the platform sends, with their variables and example data.", Response: []notify.TypeInfo{},
		},
		adminapi.DashboardRoute("notifications", "The admin dashboard's figures: messages failed in the last 24 hours, the queue (lib/adminapi).", h.svc.Dashboard),
	}
}
