package laboratory

import (
	"context"

	"hospital/lib/audit"
	"hospital/lib/billingapi"
	"hospital/lib/ehrapi"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// ServiceName is the lab service's name in Consul and in audit events.
const ServiceName = "lab"

// invoiceRequest bills the order's tests once samples are collected (spec
// flow F10): one line per test not cancelled, at the price it was ordered
// at. The key is the order's (lab-invoice:<id>): billing makes one invoice
// per order whatever the retries.
func invoiceRequest(o Order) outbox.Message {
	in := billingapi.InvoiceForLabTest{LabOrderID: o.ID, PatientID: o.PatientID}
	for _, it := range o.Items {
		if it.ItemStatus != StatusCancelled {
			in.Items = append(in.Items, billingapi.LabTestItem{TestName: it.TestName, Price: string(it.Price)})
		}
	}
	return billingapi.InvoiceForLabTestMessage(in)
}

// readyForDoctor tells the ordering doctor every result is in (spec flow F8).
func readyForDoctor(o Order) outbox.Message {
	return notificationapi.Message("lab-result-ready-doctor:"+o.ID, notificationapi.SendRequest{
		NotificationType: notificationapi.LabResultReadyDoctor, RecipientID: o.DoctorID,
		Data: map[string]string{"patient_name": o.PatientName, "order_id": o.ID},
	})
}

// criticalValue tells the ordering doctor at once of a critical value, once
// per item.
func criticalValue(o Order, it Item) outbox.Message {
	return notificationapi.Message("lab-result-critical:"+it.ItemID, notificationapi.SendRequest{
		NotificationType: notificationapi.LabResultCritical, RecipientID: o.DoctorID, Urgent: true,
		Data: map[string]string{"patient_name": o.PatientName, "order_id": o.ID, "test_name": it.TestName},
	})
}

// readyForPatient tells the patient their results are released (spec flow F9).
func readyForPatient(o Order) outbox.Message {
	return notificationapi.Message("lab-result-ready-patient:"+o.ID, notificationapi.SendRequest{
		NotificationType: notificationapi.LabResultReadyPatient, RecipientID: o.PatientID,
		Data: map[string]string{"patient_name": o.PatientName, "order_id": o.ID},
	})
}

// ehrReference files a released item's result in the patient's record
// (spec flow F7), into the order's encounter when it has one. An item whose
// values could not all be judged is reported Abnormal: the record must not
// call a result normal that nobody could check against a range.
func ehrReference(o Order, it Item) outbox.Message {
	status := "Abnormal"
	if it.Result.IsAbnormal != nil && !*it.Result.IsAbnormal {
		status = "Normal"
	}
	ref := ehrapi.LabResultReference{LabOrderItemID: it.ItemID, PatientID: o.PatientID, TestName: it.TestName,
		ResultDate: it.Result.ResultDate, SummaryStatus: status, LabOrderID: o.ID}
	if o.EHREncounterID != nil {
		ref.EHREncounterID = *o.EHREncounterID
	}
	return ehrapi.LabResultReferenceMessage(o.PatientID, ref)
}

// event starts an audit event of this service on an order.
func event(ctx context.Context, action string, o Order) audit.Event {
	return audit.New(ctx, ServiceName, action).OnPatient(o.PatientID).On("lab_order", o.ID)
}
