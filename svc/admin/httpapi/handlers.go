package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/dates"
	"hospital/lib/httpx"
	"hospital/svc/admin/oversight"
)

// handlers read the request, call the domain and write its answer; every
// rule, and every error answer, is the domain's.
type handlers struct {
	svc *oversight.Service
}

func (h handlers) dashboard(w http.ResponseWriter, r *http.Request) error {
	sum, err := h.svc.Dashboard(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, sum)
	return nil
}

func (h handlers) configurations(w http.ResponseWriter, r *http.Request) error {
	list, err := h.svc.Configurations(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (h handlers) configuration(w http.ResponseWriter, r *http.Request) error {
	key, err := httpx.PathString(r, "key", 200)
	if err != nil {
		return err
	}
	c, err := h.svc.Configuration(r.Context(), key)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h handlers) putConfiguration(w http.ResponseWriter, r *http.Request) error {
	key, err := httpx.PathString(r, "key", 200)
	if err != nil {
		return err
	}
	var in oversight.ConfigurationRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	c, err := h.svc.PutConfiguration(r.Context(), key, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (h handlers) auditLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	f, err := h.auditFilter(r)
	if err != nil {
		return err
	}
	list, n, err := h.svc.SearchLog(r.Context(), f, p.Limit(), p.Offset())
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, n, list)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h handlers) auditFilter(r *http.Request) (oversight.AuditFilter, error) {
	var f oversight.AuditFilter
	var err error
	if f.UserID, err = httpx.IntQuery(r, "user_id", 1, 1<<62); err != nil {
		return f, err
	}
	if f.PatientID, err = httpx.IntQuery(r, "patient_id", 1, 1<<62); err != nil {
		return f, err
	}
	f.Services = listQuery(r, "service")
	f.Actions = listQuery(r, "action")
	f.Outcomes = listQuery(r, "outcome")
	for _, o := range f.Outcomes {
		if o != audit.Success && o != audit.Denied && o != audit.Failed {
			return f, apperr.Field("outcome", "One of SUCCESS, DENIED, FAILED.")
		}
	}
	q := r.URL.Query()
	f.ObjectType, f.ObjectID, f.RequestID = q.Get("object_type"), q.Get("object_id"), q.Get("request_id")
	if f.BreakGlass, err = httpx.BoolQuery(r, "break_glass"); err != nil {
		return f, err
	}
	loc := h.svc.Location()
	if f.Since, err = timeQuery(r, "since", loc, false); err != nil {
		return f, err
	}
	if f.Until, err = timeQuery(r, "until", loc, true); err != nil {
		return f, err
	}
	if f.Since != nil && f.Until != nil && !f.Until.After(*f.Since) {
		return f, apperr.Field("until", "Must be after since.")
	}
	return f, nil
}

// listQuery reads a parameter given several times or comma-separated.
func listQuery(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// timeQuery reads an RFC 3339 time, or a clinic day: its start, or with
// endOfDay the start of the day after (so "until=2026-11-30" includes it).
func timeQuery(r *http.Request, name string, loc *time.Location, endOfDay bool) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		if err := dates.InRange(t); err != nil {
			return nil, apperr.Field(name, err.Error())
		}
		return &t, nil
	}
	d, err := dates.Parse(v, loc)
	if err != nil {
		return nil, apperr.Field(name, "Enter an RFC 3339 time (2026-11-30T08:00:00Z) or a date (YYYY-MM-DD).")
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return &d, nil
}

func (h handlers) verify(w http.ResponseWriter, r *http.Request) error {
	v, err := h.svc.VerifyChain(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (h handlers) recalculate(w http.ResponseWriter, r *http.Request) error {
	var in oversight.RecalculateRequest
	if err := httpx.DecodeOptional(r, &in); err != nil {
		return err
	}
	t, _, err := h.svc.RequestRecalculation(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", strings.Replace(PathTask, "{task_id:[0-9]+}", strconv.FormatInt(t.ID, 10), 1))
	httpx.WriteJSON(w, http.StatusAccepted, t)
	return nil
}

func (h handlers) task(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "task_id")
	if err != nil {
		return err
	}
	t, err := h.svc.Task(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h handlers) activity(w http.ResponseWriter, r *http.Request) error {
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	loc := h.svc.Location()
	to, err := httpx.DateQuery(r, "date_to", loc)
	if err != nil {
		return err
	}
	from, err := httpx.DateQuery(r, "date_from", loc)
	if err != nil {
		return err
	}
	rows, err := h.svc.Activity(r.Context(), from, to, r.URL.Query().Get("service"))
	if err != nil {
		return err
	}
	lo, hi := min(p.Offset(), len(rows)), min(p.Offset()+p.Limit(), len(rows))
	page, err := httpx.NewPage(r, p, len(rows), rows[lo:hi])
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h handlers) ingest(w http.ResponseWriter, r *http.Request) error {
	var ev audit.Event
	if err := httpx.Decode(r, &ev); err != nil {
		return err
	}
	rc, err := h.svc.Ingest(r.Context(), ev)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, rc)
	return nil
}
