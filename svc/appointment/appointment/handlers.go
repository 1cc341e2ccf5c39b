package appointment

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"hospital/lib/httpx"
	"hospital/lib/problem"
)

// Handlers adapts the Service to HTTP; every rule lives in the Service.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the HTTP handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

func idVar(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.NotFound("Not found.")
	}
	return id, nil
}

func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	var in CreateRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	a, err := h.svc.Create(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, a)
	return nil
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := idVar(r, "appointment_id")
	if err != nil {
		return err
	}
	a, err := h.svc.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handlers) update(w http.ResponseWriter, r *http.Request) error {
	id, err := idVar(r, "appointment_id")
	if err != nil {
		return err
	}
	var in UpdateRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	a, err := h.svc.Update(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a)
	return nil
}

// transition serves the PUT .../cancel/, confirm/ and complete/ endpoints,
// which take no body (an empty JSON object is accepted too).
func (h *Handlers) transition(do func(ctx context.Context, id int64) (Appointment, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := idVar(r, "appointment_id")
		if err != nil {
			return err
		}
		if r.ContentLength > 0 {
			var empty struct{}
			if err := httpx.Decode(r, &empty); err != nil {
				return err
			}
		}
		a, err := do(r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, a)
		return nil
	}
}

func (h *Handlers) listPatient(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, "patient_id", h.svc.ListForPatient)
}

func (h *Handlers) listDoctor(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, "doctor_id", h.svc.ListForDoctor)
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request, idName string,
	fn func(ctx context.Context, id int64, f ListFilter, limit, offset int) ([]Appointment, int, error)) error {
	id, err := idVar(r, idName)
	if err != nil {
		return err
	}
	f, err := h.filter(r)
	if err != nil {
		return err
	}
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, total, err := fn(r.Context(), id, f, p.Size, p.Offset())
	if err != nil {
		return err
	}
	page, err := httpx.NewPage(r, p, total, items)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// filter reads ?status= (repeatable or comma-separated), ?date= (one clinic
// day) and ?date_from= / ?date_to= (clinic days, inclusive).
func (h *Handlers) filter(r *http.Request) (ListFilter, error) {
	var f ListFilter
	q := r.URL.Query()
	for _, v := range q["status"] {
		for _, s := range strings.Split(v, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			if s == "" {
				continue
			}
			if !slices.Contains(Statuses, s) {
				return f, problem.Field("status", "Select a valid choice: "+strings.Join(Statuses, ", ")+".")
			}
			f.Statuses = append(f.Statuses, s)
		}
	}
	loc := h.svc.opts.Location
	day := func(name string) (*time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		d, err := time.ParseInLocation(DateLayout, v, loc)
		if err != nil {
			return nil, problem.Field(name, "Date has wrong format. Use YYYY-MM-DD.")
		}
		return &d, nil
	}
	d, err := day("date")
	if err != nil {
		return f, err
	}
	from, err := day("date_from")
	if err != nil {
		return f, err
	}
	to, err := day("date_to")
	if err != nil {
		return f, err
	}
	if d != nil {
		from, to = d, d
	}
	if from != nil {
		t := from.UTC()
		f.From = &t
	}
	if to != nil {
		t := to.AddDate(0, 0, 1).UTC()
		f.To = &t
	}
	return f, nil
}

func (h *Handlers) availability(w http.ResponseWriter, r *http.Request) error {
	id, err := idVar(r, "doctor_id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := h.svc.Availability(r.Context(), id, q.Get("date"), q.Get("days_in_advance"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handlers) getSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := idVar(r, "doctor_id")
	if err != nil {
		return err
	}
	out, err := h.svc.Schedule(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handlers) saveSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := idVar(r, "doctor_id")
	if err != nil {
		return err
	}
	var in ScheduleRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	out, created, err := h.svc.SaveSchedule(r.Context(), id, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, out)
	return nil
}
