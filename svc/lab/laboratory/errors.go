package laboratory

import (
	"errors"

	"hospital/lib/apperr"
)

// Errors the store reports.
var (
	// ErrNotFound: no such document.
	ErrNotFound = errors.New("not found")
	// ErrExists: a document with that id exists (a test with that code, an
	// order already created under an Idempotency-Key).
	ErrExists = errors.New("already exists")
	// ErrConflict: contention on one document outlasted the store's retries.
	ErrConflict = errors.New("changed concurrently")
)

var (
	errNotFound      = apperr.NotFound("Not found.")
	errNotYours      = apperr.Forbidden("You do not have permission to access this resource.")
	errNotReleased   = apperr.Forbidden("These results have not been released by a doctor yet.").WithCode("results_not_released")
	errReleasedOnly  = apperr.Forbidden("A patient sees released (COMPLETED) results only.").WithCode("results_not_released")
	errNotOrderer    = apperr.Forbidden("Only the doctor who ordered these tests may cancel them.")
	errDoctorsOnly   = apperr.Forbidden("Only a doctor releases lab results.")
	errLabOnly       = apperr.Forbidden("Only laboratory technicians record sample collection and processing.")
	errClosed        = apperr.Conflict("This order is closed (completed or cancelled).").WithCode("order_closed")
	errBusy          = apperr.Conflict("The order is being changed by others at this moment; retry.").WithCode("order_busy")
	errCodeTaken     = apperr.Field("test_code", "A lab test with this test_code already exists.")
	errCodeFixed     = apperr.Field("test_code", "A test's code cannot change (orders and invoices name it); retire the test and create a new one.")
	errNoResult      = apperr.Validation(map[string][]string{"result_values": {"Give result_values, a result_file_url, or both."}})
	errNotTechnician = apperr.Field("technician_id", "Must be your own user id (results are recorded under the caller).")
	errNotDoctor     = apperr.Field("doctor_id", "Must be your own user id (orders are placed under the caller).")
)

// illegal is the answer to a status change the machine does not allow.
func illegal(what, from, to string) error {
	return apperr.Conflict("A "+what+" cannot go from "+from+" to "+to+".").
		WithCode("illegal_status_transition").With("from", from).With("to", to)
}
