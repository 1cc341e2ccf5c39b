// Package appointmentapi is the appointment service's contract with the
// services that call it: the internal paths, the answers and a typed
// client. A caller depends on a one-method interface of its own, which
// Client satisfies.
package appointmentapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"hospital/lib/svcclient"
)

// Service is the appointment service's name in Consul.
const Service = "appointment"

// CarePath is GET from ehr: does a patient have an appointment that is not
// cancelled (with a doctor, on a clinic day)? Query: patient_id (required),
// doctor_id, date (YYYY-MM-DD, a clinic day).
const CarePath = "/api/v1/appointments/internal/care/"

// CareQuery asks about one patient; DoctorID and Date narrow it (0 and ""
// leave them out).
type CareQuery struct {
	PatientID int64
	DoctorID  int64
	Date      string
}

// Care answers CarePath: HasAppointment is true when an appointment of the
// patient (with DoctorID, on Date, when given) exists in any status but
// CANCELLED_PATIENT and CANCELLED_DOCTOR.
type Care struct {
	PatientID      int64   `json:"patient_id"`
	DoctorID       *int64  `json:"doctor_id"`
	Date           *string `json:"date"`
	HasAppointment bool    `json:"has_appointment"`
}

// Client calls the appointment service.
type Client struct{ c *svcclient.Client }

// NewClient returns a client sending through c (with c's service token).
func NewClient(c *svcclient.Client) Client { return Client{c: c} }

// Care asks CarePath.
func (c Client) Care(ctx context.Context, q CareQuery) (Care, error) {
	v := url.Values{"patient_id": {strconv.FormatInt(q.PatientID, 10)}}
	if q.DoctorID != 0 {
		v.Set("doctor_id", strconv.FormatInt(q.DoctorID, 10))
	}
	if q.Date != "" {
		v.Set("date", q.Date)
	}
	var out Care
	if err := c.c.JSON(ctx, Service, http.MethodGet, CarePath+"?"+v.Encode(), nil, &out); err != nil {
		return out, fmt.Errorf("care relationship of patient %d: %w", q.PatientID, svcclient.Refused(Service, err))
	}
	return out, nil
}
