package booking

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"hospital/lib/audit"
	"hospital/lib/billingapi"
	"hospital/lib/ehrapi"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
	"hospital/lib/svcclient"
	"hospital/lib/userapi"
)

// Everything this service asks of, or tells, other services.

// ServiceName is this service's name in Consul, in audit events and in the
// allow-lists of the services it calls.
const ServiceName = "appointment"

// ---------------------------------------------------------------------------
// User lookups

// NewUserDirectory is the Directory over the user service, called with this
// service's token: its internal user lookup (lib/userapi). A user service
// that predates that endpoint answers it 404; the lookup then falls back to
// the admin endpoint, which answers the same fields.
func NewUserDirectory(c *svcclient.Client) Directory {
	return userLookups{api: userapi.NewClient(c), c: c}
}

type userLookups struct {
	api userapi.Client
	c   *svcclient.Client
}

func (d userLookups) User(ctx context.Context, id int64) (userapi.User, error) {
	u, err := d.api.User(ctx, id)
	if err != userapi.ErrNotFound {
		return u, err
	}
	err = d.c.JSON(ctx, userapi.Service, "GET", "/api/v1/admin/users/"+strconv.FormatInt(id, 10)+"/", nil, &u)
	if svcclient.HasStatus(err, 404) || svcclient.HasStatus(err, 403) {
		return userapi.User{}, userapi.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("look up user %d: %w", id, svcclient.Refused(userapi.Service, err))
	}
	return u, nil
}

// userCache answers repeated lookups of one user from memory for at most
// ttl: doctors (and the patients staff book for) change rarely, and a
// booking must not cost a call to the user service each time. A
// deactivation therefore reaches bookings at most ttl late (Config bounds
// it). Failures and unknown ids are not cached; concurrent misses of one id
// make one call.
type userCache struct {
	next  Directory
	lru   *expirable.LRU[int64, userapi.User]
	group singleflight.Group
}

func newUserCache(next Directory, size int, ttl time.Duration) *userCache {
	return &userCache{next: next, lru: expirable.NewLRU[int64, userapi.User](size, nil, ttl)}
}

func (c *userCache) User(ctx context.Context, id int64) (userapi.User, error) {
	if u, ok := c.lru.Get(id); ok {
		return u, nil
	}
	v, err, _ := c.group.Do(strconv.FormatInt(id, 10), func() (any, error) {
		// The callers that wait on this lookup must not fail because the
		// first of them gave up.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		u, err := c.next.User(lctx, id)
		if err == nil {
			c.lru.Add(id, u)
		}
		return u, err
	})
	u, _ := v.(userapi.User)
	return u, err
}

// ---------------------------------------------------------------------------
// Messages (delivered through the outbox)

// notification is one e-mail about a, under a key derived from the event
// and the appointment, so a replay is harmless.
func (s *Service) notification(keyPrefix, typ string, recipient int64, a Appointment) outbox.Message {
	return notificationapi.Message(keyPrefix+":"+strconv.FormatInt(a.ID, 10), notificationapi.SendRequest{
		NotificationType: typ, RecipientID: recipient, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{
			"patient_name": a.PatientName, "doctor_name": a.DoctorName,
			"appointment_time": s.clinicTime(a.AppointmentTime),
		},
	})
}

func (s *Service) requestedMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		s.notification("appointment-requested-patient", notificationapi.AppointmentRequestedPatient, a.PatientID, a),
		s.notification("appointment-requested-doctor", notificationapi.AppointmentRequestedDoctor, a.DoctorID, a),
	}
}

func (s *Service) confirmedMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		s.notification("appointment-confirmed-patient", notificationapi.AppointmentConfirmedPatient, a.PatientID, a),
	}
}

func (s *Service) reminderMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		s.notification("appointment-reminder-patient", notificationapi.AppointmentReminderPatient, a.PatientID, a),
		s.notification("appointment-reminder-doctor", notificationapi.AppointmentReminderDoctor, a.DoctorID, a),
	}
}

// completedMessages: EHR gets the encounter link (spec flow F1) and Billing
// the consultation invoice (F2).
func (s *Service) completedMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		ehrapi.LinkAppointmentMessage(ehrapi.LinkAppointment{
			AppointmentID: a.ID, DoctorID: a.DoctorID, PatientID: a.PatientID, AppointmentTime: a.AppointmentTime,
		}),
		billingapi.InvoiceForAppointmentMessage(billingapi.InvoiceForAppointment{
			AppointmentID: a.ID, PatientID: a.PatientID, DoctorID: a.DoctorID,
			ServiceDescription: "Consultation", Amount: s.fee,
		}),
	}
}

// Audit actions.
const (
	actionBook     = "appointment.book"
	actionRead     = "appointment.read"
	actionList     = "appointment.list"
	actionCancel   = "appointment.cancel"
	actionConfirm  = "appointment.confirm"
	actionComplete = "appointment.complete"
	actionNoShow   = "appointment.no_show"
	actionUpdate   = "appointment.update"
	actionSchedule = "schedule.save"
)

// audited is the audit event of action by the caller in ctx on a.
func audited(ctx context.Context, action string, a Appointment) outbox.Message {
	return audit.New(ctx, ServiceName, action).OnPatient(a.PatientID).
		On("appointment", strconv.FormatInt(a.ID, 10)).Message()
}
