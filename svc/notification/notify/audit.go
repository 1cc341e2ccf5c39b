package notify

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"hospital/lib/audit"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// Audit events (lib/audit), delivered through the service's outbox to the
// admin service's log: an administrator's reads of delivery logs (their
// content and full contact are the recipient's personal data) and every
// change an administrator makes. A change's event is recorded with the
// change (Changes); a read's is queued before the answer goes out.
const (
	ActionLogRead        = "notification.log.read"
	ActionLogList        = "notification.log.list"
	ActionLogRetry       = "notification.log.retry"
	ActionTemplateCreate = "notification.template.create"
	ActionTemplateUpdate = "notification.template.update"
	ActionTemplateDelete = "notification.template.delete"
)

// Object types the events name.
const (
	objectLog       = "notification_log"
	objectTemplate  = "notification_template"
	objectRecipient = "user"
)

// patientTypes are the types the platform sends to a patient: their
// recipient is the patient, so a log of one is that patient's data and its
// events name them as the patient. Other types go to staff (the doctor's,
// the pharmacy's) or to any user (the account notices): their events name
// the recipient as the object or in the details only.
var patientTypes = []string{
	notificationapi.AppointmentRequestedPatient, notificationapi.AppointmentConfirmedPatient,
	notificationapi.AppointmentReminderPatient, notificationapi.PrescriptionReadyForPickup,
	notificationapi.InvoiceGenerated, notificationapi.PaymentSuccessful,
	notificationapi.InsuranceClaimStatusUpdated, notificationapi.LabResultReadyPatient,
}

// toPatient says whether a log of type typ is addressed to a patient.
func toPatient(typ string) bool { return slices.Contains(patientTypes, typ) }

func event(ctx context.Context, action string) audit.Event {
	return audit.New(ctx, notificationapi.Service, action)
}

// logEvent is an event on one log, naming its recipient.
func logEvent(ctx context.Context, action string, l Log) audit.Event {
	ev := event(ctx, action).On(objectLog, l.ID).
		With("recipient_id", l.RecipientID).With("notification_type", l.NotificationType).With("channel", l.Channel)
	if toPatient(l.NotificationType) {
		ev = ev.OnPatient(l.RecipientID)
	}
	return ev
}

// templateEvent is an event on one template.
func templateEvent(ctx context.Context, action string, t Template) audit.Event {
	return event(ctx, action).On(objectTemplate, t.ID).
		With("notification_type", t.NotificationType).With("channel", t.Channel).With("language", t.Language)
}

// listEvents are the events of an administrator's page of logs: one per
// recipient on it (the patient, when a log of theirs is addressed to a
// patient), and one for the recipient the list was filtered by even when
// the page is empty.
func listEvents(ctx context.Context, f LogFilter, logs []Log, count int) []audit.Event {
	var order []int64
	byRecipient := map[int64][]Log{}
	if f.RecipientID != 0 {
		order = append(order, f.RecipientID)
		byRecipient[f.RecipientID] = nil
	}
	for _, l := range logs {
		if _, seen := byRecipient[l.RecipientID]; !seen {
			order = append(order, l.RecipientID)
		}
		byRecipient[l.RecipientID] = append(byRecipient[l.RecipientID], l)
	}
	events := make([]audit.Event, 0, len(order))
	for _, r := range order {
		ev := event(ctx, ActionLogList).On(objectRecipient, strconv.FormatInt(r, 10)).
			With("logs", len(byRecipient[r])).With("count", count).With("filters", f.describe())
		if slices.ContainsFunc(byRecipient[r], func(l Log) bool { return toPatient(l.NotificationType) }) {
			ev = ev.OnPatient(r)
		}
		events = append(events, ev)
	}
	return events
}

// describe names the filters of a list, for its audit events.
func (f LogFilter) describe() map[string]any {
	d := map[string]any{"offset": f.Offset, "limit": f.Limit}
	if f.RecipientID != 0 {
		d["recipient_id"] = f.RecipientID
	}
	for k, v := range map[string]string{"notification_type": f.NotificationType, "channel": f.Channel, "status": f.Status} {
		if v != "" {
			d[k] = v
		}
	}
	if f.From != nil {
		d["date_from"] = f.From.UTC()
	}
	if f.To != nil {
		d["date_to"] = f.To.UTC()
	}
	return d
}

func messages(events ...audit.Event) []outbox.Message {
	out := make([]outbox.Message, len(events))
	for i, ev := range events {
		out[i] = ev.Message()
	}
	return out
}

// audited queues the events of a read before its answer goes out: a read
// whose events cannot be recorded is not answered.
func (s *Service) audited(ctx context.Context, events ...audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := s.store.Enqueue(ctx, messages(events...)...); err != nil {
		return fmt.Errorf("record audit event %s: %w", events[0].Action, err)
	}
	return nil
}
