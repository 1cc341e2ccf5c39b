package dispensing

import (
	"fmt"
	"strconv"
	"strings"

	"hospital/lib/billingapi"
	"hospital/lib/ehrapi"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// StockAlertsPath is the pharmacy's own internal endpoint that tells every
// pharmacist of a stock alert (POST a StockAlert, pharmacy's token only).
const StockAlertsPath = "/api/v1/pharmacy/internal/stock-alerts/"

// prescriptionReference tells the EHR of a new prescription (spec flow F3),
// into its encounter when the doctor named one.
func prescriptionReference(p Prescription) outbox.Message {
	ref := ehrapi.PrescriptionReference{
		PrescriptionID: p.ID, IssueDate: p.DatePrescribed, PatientID: p.PatientID,
		MedicationsSummary: medicationsSummary(p.Items),
	}
	if p.EHREncounterID != nil {
		ref.EHREncounterID = *p.EHREncounterID
	}
	return ehrapi.PrescriptionReferenceMessage(p.PatientID, ref)
}

// medicationsSummary is "Paracetamol 500mg ×15 (1 tablet, 3 times a day,
// 5 days); ...", cut to what the EHR accepts.
func medicationsSummary(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s ×%d (%s, %s, %d days)", it.MedicationName, it.QuantityPrescribed, it.Dosage, it.Frequency, it.DurationDays)
	}
	s := strings.Join(parts, "; ")
	if r := []rune(s); len(r) > 2000 {
		s = string(r[:1997]) + "..."
	}
	return s
}

// readyForPickup tells the patient their prescription is ready (spec flow
// F4), once per prescription.
func readyForPickup(p Prescription) outbox.Message {
	return notificationapi.Message("prescription-ready:"+p.ID, notificationapi.SendRequest{
		NotificationType: notificationapi.PrescriptionReadyForPickup, RecipientID: p.PatientID,
		Data: map[string]string{"patient_name": p.PatientName, "prescription_id": p.ID},
	})
}

// medicationInvoice asks billing for the dispense's invoice (spec flow
// F6), under the key billing expects: one invoice per dispense log.
func medicationInvoice(d DispenseLog) outbox.Message {
	items := make([]billingapi.MedicationItem, len(d.DispensedItems))
	for i, it := range d.DispensedItems {
		items[i] = billingapi.MedicationItem{MedicationName: it.MedicationName, Quantity: it.QuantityDispensed,
			UnitPrice: it.UnitPrice.String(), TotalPrice: it.TotalPrice.String()}
	}
	return billingapi.InvoiceForMedicationMessage(billingapi.InvoiceForMedication{
		DispenseLogID: d.ID, PatientID: d.PatientID, Items: items,
	})
}

// invoiceKeyPrefix starts the key of every medicationInvoice message.
const invoiceKeyPrefix = "dispense-invoice:"

// stockAlert asks this service to tell the pharmacists of a crossing below
// the reorder level (see StockAlert).
func stockAlert(a StockAlert) outbox.Message {
	return outbox.Message{Key: "stock-alert:" + a.MedicationID + "#" + strconv.FormatInt(a.Sequence, 10),
		Service: ServiceName, Path: StockAlertsPath, Body: a}
}

// stockLow is the alert to one pharmacist (spec flow F5: a notification
// has one recipient, so each pharmacist gets their own).
func stockLow(a StockAlert, pharmacistID int64) outbox.Message {
	key := fmt.Sprintf("stock-low:%s#%d:%d", a.MedicationID, a.Sequence, pharmacistID)
	return notificationapi.Message(key, notificationapi.SendRequest{
		NotificationType: notificationapi.PharmacyStockLow, RecipientID: pharmacistID,
		Data: map[string]string{"medication_name": a.MedicationName,
			"quantity_on_hand": strconv.FormatInt(a.QuantityOnHand, 10), "reorder_level": strconv.FormatInt(a.ReorderLevel, 10)},
	})
}
