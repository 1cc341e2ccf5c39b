package booking

import (
	"context"
	"fmt"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/appointmentapi"
	"hospital/lib/dates"
)

// CareFilter asks whether a patient has an appointment that is not
// cancelled, with DoctorID (when not 0) and starting in [From, To) (when
// set).
type CareFilter struct {
	PatientID, DoctorID int64
	From, To            *time.Time
}

// Care answers the EHR service's question (lib/appointmentapi.CarePath):
// does the patient have an appointment, in any status but cancelled, with
// the doctor (when given) on the clinic day (when given)? The EHR uses it
// to decide who may read a record, and audits the access it grants; the
// question itself reveals only that an appointment exists, to a service.
func (s *Service) Care(ctx context.Context, q appointmentapi.CareQuery) (appointmentapi.Care, error) {
	out := appointmentapi.Care{PatientID: q.PatientID}
	f := CareFilter{PatientID: q.PatientID, DoctorID: q.DoctorID}
	if q.DoctorID != 0 {
		out.DoctorID = &q.DoctorID
	}
	if q.Date != "" {
		d, err := dates.Parse(q.Date, s.loc)
		if err != nil {
			return out, apperr.Field("date", err.Error())
		}
		from, to := d.UTC(), d.AddDate(0, 0, 1).UTC()
		f.From, f.To = &from, &to
		out.Date = &q.Date
	}
	has, err := s.store.HasAppointment(ctx, f)
	if err != nil {
		return out, fmt.Errorf("care relationship of patient %d: %w", q.PatientID, err)
	}
	out.HasAppointment = has
	return out, nil
}
