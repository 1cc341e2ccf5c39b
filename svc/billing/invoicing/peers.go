package invoicing

import (
	"context"
	"strconv"

	"hospital/lib/audit"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// ServiceName is the billing service's name in Consul and in audit events.
const ServiceName = "billing"

func id(n int64) string { return strconv.FormatInt(n, 10) }

// invoiceGenerated tells the patient of a new invoice (spec flow F11).
func invoiceGenerated(inv Invoice) outbox.Message {
	return notificationapi.Message("invoice-generated:"+id(inv.ID), notificationapi.SendRequest{
		NotificationType: notificationapi.InvoiceGenerated, RecipientID: inv.PatientID,
		Data: map[string]string{"invoice_number": inv.InvoiceNumber, "amount": inv.TotalAmount.String(), "due_date": inv.DueDate.String()},
	})
}

// paymentSuccessful tells the patient a payment was taken (spec flow F12).
func paymentSuccessful(inv Invoice, p Payment) outbox.Message {
	return notificationapi.Message("payment-successful:"+id(p.ID), notificationapi.SendRequest{
		NotificationType: notificationapi.PaymentSuccessful, RecipientID: inv.PatientID,
		Data: map[string]string{"invoice_number": inv.InvoiceNumber, "amount": p.Amount.String()},
	})
}

// claimStatusUpdated tells the patient a claim changed (spec flow F13); the
// key is the change's own id, so a claim that returns to a status it had
// before is told again.
func claimStatusUpdated(eventID int64, c InsuranceClaim) outbox.Message {
	return notificationapi.Message("claim-status-updated:"+id(eventID), notificationapi.SendRequest{
		NotificationType: notificationapi.InsuranceClaimStatusUpdated, RecipientID: c.PatientID,
		Data: map[string]string{"claim_id": id(c.ID), "invoice_number": c.InvoiceNumber, "status": c.Status},
	})
}

// event starts an audit event of this service.
func event(ctx context.Context, action string, patientID int64, objectType string, objectID int64) audit.Event {
	return audit.New(ctx, ServiceName, action).OnPatient(patientID).On(objectType, id(objectID))
}
