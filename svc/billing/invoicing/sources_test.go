package invoicing_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"

	"hospital/lib/apperr"
	"hospital/lib/billingapi"
	"hospital/lib/testkit"
	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// appointmentInvoice is exactly what the appointment service's outbox sends.
func appointmentInvoice(e *billingtest.Env, apptID int64) billingapi.InvoiceForAppointment {
	return billingapi.InvoiceForAppointment{AppointmentID: apptID, PatientID: e.Patient1, DoctorID: e.Doctor,
		ServiceDescription: "Consultation", Amount: "150000.00"}
}

func TestAppointmentInvoiceIsComputedNumberedAndAnnounced(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	ctx := billingtest.AsService("appointment")
	res, err := e.Svc.InvoiceForAppointment(ctx, "appointment-invoice:41", appointmentInvoice(e, 41))
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Value
	if res.Status != http.StatusCreated || inv.InvoiceNumber != "INV-2026-000001" || inv.Status != invoicing.StatusPendingPatient {
		t.Fatalf("invoice: %d %+v", res.Status, inv)
	}
	if inv.TotalAmount.String() != "150000.00" || inv.SubTotalAmount.String() != "150000.00" || inv.AmountDue.String() != "150000.00" {
		t.Fatalf("amounts: %+v", inv)
	}
	if inv.IssueDate.String() != "2026-12-07" || inv.DueDate.String() != "2027-01-06" {
		t.Fatalf("dates: issue %s due %s", inv.IssueDate, inv.DueDate)
	}
	if len(inv.Items) != 1 || inv.Items[0].ItemType != invoicing.ItemConsultation || inv.Items[0].Quantity.String() != "1.00" {
		t.Fatalf("items: %+v", inv.Items)
	}
	if inv.RelatedAppointmentID == nil || *inv.RelatedAppointmentID != 41 {
		t.Fatalf("source: %+v", inv.RelatedAppointmentID)
	}
	// The next invoice takes the next number.
	next, err := e.Svc.InvoiceForAppointment(ctx, "appointment-invoice:42", appointmentInvoice(e, 42))
	if err != nil || next.Value.InvoiceNumber != "INV-2026-000002" {
		t.Fatalf("second invoice: %v %+v", err, next.Value)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key = 'invoice-generated:`+itoa(inv.ID)+`' AND target_service = 'notification'`); n != 1 {
		t.Fatalf("INVOICE_GENERATED messages: %d", n)
	}
}

// Concurrent replays of one key, and a second key for the same
// appointment, all answer the one invoice.
func TestAppointmentInvoiceOnceUnderConcurrentReplays(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	ctx := billingtest.AsService("appointment")
	in := appointmentInvoice(e, 7)
	const n = 20
	ids := make([]int64, n)
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			key := "appointment-invoice:7"
			if i%5 == 4 {
				key = "another-key-for-7:" + itoa(int64(i)) // a caller that changed its keys
			}
			for {
				res, err := e.Svc.InvoiceForAppointment(ctx, key, in)
				if status(err) == http.StatusConflict {
					continue // "being processed; retry shortly", as the outbox would
				}
				ids[i], statuses[i], errs[i] = res.Value.ID, res.Status, err
				return
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if ids[i] != ids[0] || ids[0] == 0 || statuses[i] < 200 || statuses[i] > 201 {
			t.Fatalf("answers: ids %v statuses %v", ids, statuses)
		}
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM invoices WHERE related_appointment_id = 7`); got != 1 {
		t.Fatalf("invoices for appointment 7: %d", got)
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM outbox_messages WHERE idempotency_key LIKE 'invoice-generated:%'`); got != 1 {
		t.Fatalf("INVOICE_GENERATED messages: %d", got)
	}
}

func TestAppointmentInvoiceRefusesBadInputAndKeyReuse(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	ctx := billingtest.AsService("appointment")
	for _, amount := range []string{"abc", "-1.00", "10.123", "1e5"} {
		in := appointmentInvoice(e, 9)
		in.Amount = amount
		if _, err := e.Svc.InvoiceForAppointment(ctx, "k9-"+amount, in); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("amount %q: %v", amount, err)
		}
	}
	if _, err := e.Svc.InvoiceForAppointment(ctx, "k9", appointmentInvoice(e, 9)); err != nil {
		t.Fatal(err)
	}
	other := appointmentInvoice(e, 9)
	other.Amount = "1.00"
	if _, err := e.Svc.InvoiceForAppointment(ctx, "k9", other); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("same key, other body: %v", err)
	}
	moved := appointmentInvoice(e, 9)
	moved.PatientID = e.Patient2
	if _, err := e.Svc.InvoiceForAppointment(ctx, "k9-other-patient", moved); !apperr.Is(err, apperr.KindConflict) {
		t.Fatalf("same appointment, other patient: %v", err)
	}
	if got := e.Count(t, `SELECT COUNT(*) FROM invoices`); got != 1 {
		t.Fatalf("invoices: %d", got)
	}
}

func TestMedicationAndLabInvoices(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	med := billingapi.InvoiceForMedication{DispenseLogID: "665f1c2e9b1d4a0012345678", PatientID: e.Patient1, Items: []billingapi.MedicationItem{
		{MedicationName: "Paracetamol 500mg", Quantity: 15, UnitPrice: "1000.00", TotalPrice: "15000.00"},
		{MedicationName: "Amoxicillin 250mg", Quantity: 10, UnitPrice: "2500.50", TotalPrice: "25005.00"},
	}}
	res, err := e.Svc.InvoiceForMedication(billingtest.AsService("pharmacy"), "", med)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value.TotalAmount.String() != "40005.00" || len(res.Value.Items) != 2 || *res.Value.RelatedPrescriptionDispenseID != med.DispenseLogID {
		t.Fatalf("medication invoice: %+v", res.Value)
	}
	// Without a key, the source is the key: a retry answers the same invoice.
	again, err := e.Svc.InvoiceForMedication(billingtest.AsService("pharmacy"), "", med)
	if err != nil || again.Value.ID != res.Value.ID {
		t.Fatalf("retry: %v %+v", err, again.Value)
	}
	bad := med
	bad.DispenseLogID = "other"
	bad.Items = []billingapi.MedicationItem{{MedicationName: "X", Quantity: 3, UnitPrice: "10.00", TotalPrice: "31.00"}}
	if _, err := e.Svc.InvoiceForMedication(billingtest.AsService("pharmacy"), "", bad); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("wrong line total: %v", err)
	}

	lab := billingapi.InvoiceForLabTest{LabOrderID: "665f1c2e9b1d4a00aaaaaaaa", PatientID: e.Patient2, Items: []billingapi.LabTestItem{
		{TestName: "Complete Blood Count", Price: "150000.00"}, {TestName: "Glucose", Price: "50000"},
	}}
	lr, err := e.Svc.InvoiceForLabTest(billingtest.AsService("lab"), "lab-invoice:"+lab.LabOrderID, lab)
	if err != nil {
		t.Fatal(err)
	}
	if lr.Value.TotalAmount.String() != "200000.00" || lr.Value.Items[1].ItemType != invoicing.ItemLabTest || lr.Value.Items[1].Quantity.String() != "1.00" {
		t.Fatalf("lab invoice: %+v", lr.Value)
	}
}

// Many different appointments invoiced at once all succeed, numbered
// without gaps or repeats (a look-up before the insert used to gap-lock the
// source index and make concurrent creations deadlock).
func TestConcurrentInvoicesOfDifferentAppointments(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	ctx := billingtest.AsService("appointment")
	const workers, each = 16, 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range each {
				id := int64(1000 + w*each + k)
				if _, err := e.Svc.InvoiceForAppointment(ctx, "appointment-invoice:"+itoa(id), appointmentInvoice(e, id)); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.Count(t, `SELECT COUNT(DISTINCT invoice_number) FROM invoices`); n != workers*each {
		t.Fatalf("distinct invoice numbers: %d", n)
	}
	if n := e.Count(t, `SELECT MAX(CAST(SUBSTRING(invoice_number, 10) AS UNSIGNED)) FROM invoices`); n != workers*each {
		t.Fatalf("highest number %d: numbers have gaps", n)
	}
}

// Amounts that each fit but add up past what the database holds are a 400,
// never a 500.
func TestAmountsBeyondTheColumnsAreRefused(t *testing.T) {
	e := billingtest.NewEnv(t, billingtest.NewCard())
	big := "999999999999.00"
	lab := billingapi.InvoiceForLabTest{LabOrderID: "big", PatientID: e.Patient1, Items: []billingapi.LabTestItem{
		{TestName: "A", Price: big}, {TestName: "B", Price: big}}}
	if _, err := e.Svc.InvoiceForLabTest(billingtest.AsService("lab"), "", lab); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("sum past the column: %v", err)
	}
	admin := e.As(e.Admin)
	if _, err := e.Svc.CreateInvoice(admin, invoicing.CreateInvoiceRequest{PatientID: e.Patient1,
		Items: []invoicing.ItemRequest{{ItemType: invoicing.ItemOther, Description: "x", Quantity: "99999", UnitPrice: big}}}); !apperr.Is(err, apperr.KindInvalid) {
		t.Fatalf("line past the column: %v", err)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM invoices`); n != 0 {
		t.Fatalf("invoices written: %d", n)
	}
}
