package httpapi

import (
	"math"
	"net/http"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/dates"
	"hospital/lib/httpx"
	"hospital/svc/notification/notify"
)

// handlers read the request, call the domain and write its answer; every
// rule lives in notify.
type handlers struct{ svc *notify.Service }

func pageOf[T any]() httpx.Page[T] { return httpx.Page[T]{Results: []T{}} }

// maxIDLen bounds path ids: template ids are 24 hex characters, log ids too.
const maxIDLen = 64

func (h handlers) send(w http.ResponseWriter, r *http.Request) error {
	var in notify.SendInput
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	res, err := h.svc.Send(r.Context(), in, strings.TrimSpace(r.Header.Get(notify.HeaderIdempotencyKey)))
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	status := http.StatusOK
	if res.Queued {
		status = http.StatusAccepted
	}
	httpx.WriteJSON(w, status, res.Answer)
	return nil
}

func (h handlers) listTemplates(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := notify.TemplateFilter{
		NotificationType: q.Get("notification_type"), Channel: q.Get("channel"), Language: q.Get("language"),
		Offset: p.Offset(), Limit: p.Limit(),
	}
	if f.IsActive, err = httpx.BoolQuery(r, "is_active"); err != nil {
		return err
	}
	list, n, err := h.svc.ListTemplates(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, p, n, list)
}

func writePage[T any](w http.ResponseWriter, r *http.Request, p httpx.PageParams, n int, list []T) error {
	page, err := httpx.NewPage(r, p, n, list)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h handlers) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var in notify.TemplateInput
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

func (h handlers) getTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "template_id", maxIDLen)
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

func (h handlers) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "template_id", maxIDLen)
	if err != nil {
		return err
	}
	var in notify.TemplateInput
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

func (h handlers) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "template_id", maxIDLen)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteTemplate(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h handlers) listTypes(w http.ResponseWriter, r *http.Request) error {
	types, err := h.svc.Types(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, types)
	return nil
}

func (h handlers) listLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := notify.LogFilter{
		NotificationType: q.Get("notification_type"), Channel: q.Get("channel"), Status: q.Get("status"),
		Offset: p.Offset(), Limit: p.Limit(),
	}
	name := "recipient_id"
	if q.Get(name) == "" {
		name = "recipient"
	}
	recipient, err := httpx.IntQuery(r, name, 1, math.MaxInt64)
	if err != nil {
		return err
	}
	if recipient != nil {
		f.RecipientID = *recipient
	}
	if f.From, err = timeQuery(r, "date_from", "created_after", false); err != nil {
		return err
	}
	if f.To, err = timeQuery(r, "date_to", "created_before", true); err != nil {
		return err
	}
	list, n, err := h.svc.ListLogs(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, p, n, list)
}

// timeQuery reads a date (the whole day: its start, or for an end bound the
// next day's start) or an RFC 3339 time, under name or its alias; years
// outside httpx's range are refused like any malformed date.
func timeQuery(r *http.Request, name, alias string, end bool) (*time.Time, error) {
	q := r.URL.Query()
	v := q.Get(name)
	if v == "" {
		v = q.Get(alias)
	}
	if v == "" {
		return nil, nil
	}
	bad := apperr.Field(name, "Use a date (YYYY-MM-DD) or an RFC 3339 time, between the years 1900 and 2200.")
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		if dates.InRange(t.UTC()) != nil {
			return nil, bad
		}
		t = t.UTC()
		return &t, nil
	}
	d, err := dates.Parse(v, time.UTC)
	if err != nil {
		return nil, bad
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return &d, nil
}

func (h handlers) getLog(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "log_id", maxIDLen)
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

func (h handlers) retryLog(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathString(r, "log_id", maxIDLen)
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
