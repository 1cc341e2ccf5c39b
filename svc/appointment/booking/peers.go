package booking

import (
	"context"
	"strconv"

	"hospital/lib/audit"
	"hospital/lib/billingapi"
	"hospital/lib/ehrapi"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// Everything this service asks of, or tells, other services.

// ServiceName is this service's name in Consul, in audit events and in the
// allow-lists of the services it calls.
const ServiceName = "appointment"

// ---------------------------------------------------------------------------
// User lookups

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
