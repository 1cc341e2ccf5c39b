package invoicing_test

import (
	"strconv"

	"hospital/lib/problem"
	"testing"

	"hospital/svc/billing/internal/billingtest"
	"hospital/svc/billing/invoicing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// invoiceFor makes a PENDING_PATIENT invoice of amount for patient 1.
func invoiceFor(t *testing.T, e *billingtest.Env, apptID int64, amount string) invoicing.Invoice {
	t.Helper()
	in := appointmentInvoice(e, apptID)
	in.Amount = amount
	res, err := e.Svc.InvoiceForAppointment(billingtest.AsService("appointment"), "", in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Value
}

// status is the HTTP status err is answered with (0 for none).
func status(err error) int {
	if p, ok := problem.FromError(err); ok {
		return p.Status
	}
	return 0
}
