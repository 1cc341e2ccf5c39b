package httpapi

import (
	"context"
	"net/http"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/appointmentapi"
	"hospital/lib/httpx"
	"hospital/svc/appointment/booking"
)

// handlers read the request, call the domain and write its answer; every
// rule, and every error answer, is the domain's.
type handlers struct {
	svc *booking.Service
}

func (h handlers) book(w http.ResponseWriter, r *http.Request) error {
	var in booking.BookRequest
	if err := httpx.Decode(r, &in); err != nil {
		return err
	}
	a, err := h.svc.Book(r.Context(), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, a)
	return nil
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "appointment_id")
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

func (h handlers) update(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "appointment_id")
	if err != nil {
		return err
	}
	var in booking.UpdateRequest
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

// transition serves cancel/, confirm/ and complete/, which take no body (an
// empty JSON object is accepted too).
func (h handlers) transition(do func(*booking.Service, context.Context, int64) (booking.Appointment, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := httpx.PathInt64(r, "appointment_id")
		if err != nil {
			return err
		}
		if err := httpx.DecodeOptional(r, &noBody{}); err != nil {
			return err
		}
		a, err := do(h.svc, r.Context(), id)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, a)
		return nil
	}
}

func (h handlers) listPatient(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, "patient_id", h.svc.ListForPatient)
}

func (h handlers) listDoctor(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, "doctor_id", h.svc.ListForDoctor)
}

type lister func(ctx context.Context, id int64, q booking.ListQuery, limit, offset int) ([]booking.Appointment, int, error)

func (h handlers) list(w http.ResponseWriter, r *http.Request, idName string, fn lister) error {
	id, err := httpx.PathInt64(r, idName)
	if err != nil {
		return err
	}
	q, err := h.listQuery(r)
	if err != nil {
		return err
	}
	p, err := httpx.PageFrom(r)
	if err != nil {
		return err
	}
	items, total, err := fn(r.Context(), id, q, p.Limit(), p.Offset())
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

// listQuery reads ?status= (repeatable or comma-separated), ?date= and
// ?date_from= / ?date_to= (clinic days).
func (h handlers) listQuery(r *http.Request) (booking.ListQuery, error) {
	var (
		q   booking.ListQuery
		err error
	)
	for _, v := range r.URL.Query()["status"] {
		q.Statuses = append(q.Statuses, strings.Split(v, ",")...)
	}
	loc := h.svc.Location()
	if q.Date, err = httpx.DateQuery(r, "date", loc); err != nil {
		return q, err
	}
	if q.From, err = httpx.DateQuery(r, "date_from", loc); err != nil {
		return q, err
	}
	q.To, err = httpx.DateQuery(r, "date_to", loc)
	return q, err
}

func (h handlers) availability(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "doctor_id")
	if err != nil {
		return err
	}
	date, err := httpx.DateQuery(r, "date", h.svc.Location())
	if err != nil {
		return err
	}
	days, err := httpx.IntQuery(r, "days_in_advance", 0, int64(h.svc.MaxDaysAhead()))
	if err != nil {
		return err
	}
	q := booking.AvailabilityQuery{Date: date}
	if days != nil {
		q.DaysInAdvance = int(*days)
	}
	out, err := h.svc.Availability(r.Context(), id, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h handlers) schedule(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "doctor_id")
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

func (h handlers) saveSchedule(w http.ResponseWriter, r *http.Request) error {
	id, err := httpx.PathInt64(r, "doctor_id")
	if err != nil {
		return err
	}
	var in booking.ScheduleRequest
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

func (h handlers) care(w http.ResponseWriter, r *http.Request) error {
	pid, err := httpx.IntQuery(r, "patient_id", 1, 1<<62)
	if err != nil {
		return err
	}
	if pid == nil {
		return apperr.Field("patient_id", "This field is required.")
	}
	did, err := httpx.IntQuery(r, "doctor_id", 1, 1<<62)
	if err != nil {
		return err
	}
	q := appointmentapi.CareQuery{PatientID: *pid, Date: r.URL.Query().Get("date")}
	if did != nil {
		q.DoctorID = *did
	}
	c, err := h.svc.Care(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}
