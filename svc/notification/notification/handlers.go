package notification

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.mongodb.org/mongo-driver/v2/bson"

	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/problem"
)

// Handlers adapts the Service to HTTP; every rule lives in the Service.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the HTTP handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// HeaderIdempotencyKey names the header that makes a send safe to repeat.
const HeaderIdempotencyKey = "Idempotency-Key"

func (h *Handlers) send(w http.ResponseWriter, r *http.Request) error {
	// Who is asking comes before what: no token is a 401 whatever the body.
	caller, err := auth.Caller(r.Context())
	if err != nil {
		return err
	}
	if !caller.IsService() && !caller.HasRole(auth.RoleAdmin) {
		return problem.Forbidden("Only platform services and administrators may send notifications.")
	}
	key := strings.TrimSpace(r.Header.Get(HeaderIdempotencyKey))
	if len(key) > 200 {
		return problem.Field(HeaderIdempotencyKey, "Ensure this header has no more than 200 characters.")
	}
	var in SendRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.Send(r.Context(), in, key)
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	httpx.WriteJSON(w, res.Status, res.Body)
	return nil
}

// ---------------------------------------------------------------- templates

func templateIDVar(r *http.Request) (bson.ObjectID, error) {
	id, err := bson.ObjectIDFromHex(mux.Vars(r)["template_id"])
	if err != nil {
		return id, problem.NotFound("Template not found.")
	}
	return id, nil
}

func (h *Handlers) listTemplates(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := TemplateFilter{
		NotificationType: q.Get("notification_type"), Channel: q.Get("channel"), Language: q.Get("language"),
		Offset: p.Offset(), Limit: p.Size,
	}
	if f.Channel != "" && !slices.Contains(Channels, f.Channel) {
		return problem.Field("channel", "Select a valid choice: EMAIL, SMS or PUSH.")
	}
	if v := q.Get("is_active"); v != "" {
		b, err := parseBool(v)
		if err != nil {
			return problem.Field("is_active", "Must be true or false.")
		}
		f.IsActive = &b
	}
	list, n, err := h.svc.ListTemplates(r.Context(), f)
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, n, list)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *Handlers) createTemplate(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r.Context()); err != nil {
		return err
	}
	var in TemplateInput
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	t, err := h.svc.CreateTemplate(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h *Handlers) getTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := templateIDVar(r)
	if err != nil {
		return err
	}
	t, err := h.svc.GetTemplate(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *Handlers) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r.Context()); err != nil {
		return err
	}
	id, err := templateIDVar(r)
	if err != nil {
		return err
	}
	var in TemplateInput
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	t, err := h.svc.UpdateTemplate(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *Handlers) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := templateIDVar(r)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteTemplate(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TypeInfo describes a notification type for template authors.
type TypeInfo struct {
	NotificationType string         `json:"notification_type"`
	Variables        []string       `json:"variables"`
	ExampleData      map[string]any `json:"example_data"`
}

func (h *Handlers) listTypes(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r.Context()); err != nil {
		return err
	}
	out := make([]TypeInfo, 0, len(DefaultTypes))
	for _, d := range DefaultTypes {
		out = append(out, TypeInfo{NotificationType: d.Type, Variables: d.Variables, ExampleData: d.Example})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---------------------------------------------------------------- logs

var logIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

func logIDVar(r *http.Request) (string, error) {
	id := mux.Vars(r)["log_id"]
	if !logIDPattern.MatchString(id) {
		return "", problem.NotFound("Notification log not found.")
	}
	return id, nil
}

func (h *Handlers) listLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := LogFilter{
		NotificationType: q.Get("notification_type"), Channel: q.Get("channel"), Status: q.Get("status"),
		Offset: p.Offset(), Limit: p.Size,
	}
	if v := firstOf(q.Get("recipient_id"), q.Get("recipient")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return problem.Field("recipient_id", "A valid integer is required.")
		}
		f.RecipientID = n
	}
	if f.Channel != "" && !slices.Contains(Channels, f.Channel) {
		return problem.Field("channel", "Select a valid choice: EMAIL, SMS or PUSH.")
	}
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return problem.Field("status", "Select a valid choice: PENDING, SENT, FAILED or DELIVERED.")
	}
	for _, d := range []struct {
		names []string
		dst   **time.Time
		end   bool
	}{
		{[]string{"date_from", "created_after"}, &f.From, false},
		{[]string{"date_to", "created_before"}, &f.To, true},
	} {
		v := firstOf(q.Get(d.names[0]), q.Get(d.names[1]))
		if v == "" {
			continue
		}
		t, err := parseTimeParam(v, d.end)
		if err != nil {
			return problem.Field(d.names[0], "Use a date (YYYY-MM-DD) or an RFC 3339 time.")
		}
		*d.dst = &t
	}
	list, n, err := h.svc.ListLogs(r.Context(), f)
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, n, list)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *Handlers) getLog(w http.ResponseWriter, r *http.Request) error {
	id, err := logIDVar(r)
	if err != nil {
		return err
	}
	l, err := h.svc.GetLog(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (h *Handlers) retryLog(w http.ResponseWriter, r *http.Request) error {
	id, err := logIDVar(r)
	if err != nil {
		return err
	}
	l, err := h.svc.RetryLog(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, l)
	return nil
}

// parseTimeParam reads a date (the whole day: its start, or for an end
// bound the next day's start) or an RFC 3339 time.
func parseTimeParam(v string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return d, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, strconv.ErrSyntax
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
