package records

import (
	"time"

	"hospital/lib/apperr"
)

var (
	errNoRecord      = apperr.NotFound("This patient has no medical record.")
	errNoEncounter   = apperr.NotFound("No such encounter in this patient's record.")
	errNoDiagnosis   = apperr.NotFound("No such diagnosis in this encounter.")
	errNoPlan        = apperr.NotFound("No such treatment plan in this encounter.")
	errNotYours      = apperr.Forbidden("You may read only your own medical record.")
	errNotClinical   = apperr.Forbidden("Your role does not give access to medical records.")
	errBreakGlass    = apperr.Forbidden("You have no care relationship with this patient. To read or change the record in an emergency, send the reason in the " + BreakGlassHeader + " header; the access is recorded and reviewed.").WithCode("break_glass_required")
	errRecordExists  = apperr.Conflict("This patient already has a medical record.").WithCode("record_exists")
	errEditConflict  = apperr.Conflict("The encounter changed since the version you sent in If-Match; read it again and repeat your change.").WithCode("edit_conflict")
	errBusy          = apperr.Unavailable("Too many changes to this encounter at once; retry.", time.Second)
	errSelfOnly      = apperr.Forbidden("Clinical entries are recorded under the caller's own id.")
	errNoChange      = apperr.Invalid("The request changes nothing: send at least one field.")
	errNoMeasurement = apperr.Invalid("Send at least one measurement: heart_rate, blood_pressure or temperature_celsius.")
	errPrimaryTaken  = apperr.Field("is_primary", "This encounter already has a primary diagnosis; change that one first.")
	errCareUnknown   = apperr.Unavailable("The appointment service cannot confirm a care relationship right now; retry, or break the glass with a reason.", 5*time.Second)
)

// errOtherPatient: a reference or an appointment already recorded for
// another patient.
func errOtherPatient(what string) *apperr.Error {
	return apperr.Conflict("This " + what + " is already recorded for another patient.").WithCode("other_patient")
}
