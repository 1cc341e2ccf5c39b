package dispensing

import (
	"fmt"
	"time"

	"hospital/lib/apperr"
)

var (
	errNotFound            = apperr.NotFound("Not found.")
	errNotYours            = apperr.Forbidden("You may see only your own prescriptions.")
	errNotPrescriber       = apperr.Forbidden("Only the prescribing doctor or a pharmacist may cancel this prescription.")
	errDoctorNotCaller     = apperr.Field("doctor_id", "The prescribing doctor is the signed-in doctor; leave doctor_id out or send your own id.")
	errPharmacistNotCaller = apperr.Field("pharmacist_id", "The dispensing pharmacist is the signed-in pharmacist; leave pharmacist_id out or send your own id.")
	errPatientUnknown      = apperr.Field("patient_id", "No active patient with this id.")
	errCodeTaken           = apperr.Field("medication_code", "A medication with this medication_code already exists.")
	errMedicationUnknown   = apperr.NotFound("No medication with this id in the catalog.")
	errDispenseBusy        = apperr.Conflict("A dispense of this prescription is being processed; retry shortly.").WithCode("dispense_in_progress")
	errContended           = apperr.Unavailable("Too many changes at once; retry shortly.", time.Second)
	errAllergyUnavailable  = apperr.Unavailable("The patient's allergies cannot be checked right now (the EHR service is unavailable); the prescription was not written.",
		5*time.Second).WithCode("allergy_check_unavailable")
	errUsersUnavailable = apperr.Unavailable("The user service is unavailable; try again shortly.", 5*time.Second)
)

// errStatus refuses an action the prescription's status does not allow.
func errStatus(action, status string) error {
	return apperr.Conflict(fmt.Sprintf("The prescription is %s; it cannot be %s.", status, action)).
		WithCode("invalid_status").With("status", status)
}

// Shortage is one medication a dispense needs more of than is on hand
// unexpired.
type Shortage struct {
	MedicationID   string `json:"medication_id"`
	MedicationName string `json:"medication_name"`
	Requested      int64  `json:"requested"`
	Available      int64  `json:"available"`
}

// errShort refuses a dispense for lack of unexpired stock, naming what is
// short.
func errShort(s []Shortage) error {
	msg := "Not enough unexpired stock:"
	for i, x := range s {
		if i > 0 {
			msg += ";"
		}
		msg += fmt.Sprintf(" %s (requested %d, available %d)", x.MedicationName, x.Requested, x.Available)
	}
	return apperr.Conflict(msg+". Nothing was dispensed.").WithCode("insufficient_stock").With("shortages", s)
}

// Excess is a dispense line asking for more than the prescription has left.
type Excess struct {
	PrescriptionItemIDRef string `json:"prescription_item_id_ref"`
	MedicationName        string `json:"medication_name"`
	Requested             int64  `json:"requested"`
	Remaining             int64  `json:"remaining"`
}

func errExcess(x []Excess) error {
	msg := "More than the prescription has left to dispense:"
	for i, e := range x {
		if i > 0 {
			msg += ";"
		}
		msg += fmt.Sprintf(" %s (requested %d, remaining %d)", e.MedicationName, e.Requested, e.Remaining)
	}
	return apperr.Conflict(msg+".").WithCode("exceeds_prescribed").With("items", x)
}

// errAllergy refuses a prescription whose medications match the patient's
// recorded allergies, naming each match.
func errAllergy(m []AllergyMatch) error {
	msg := "The patient is allergic:"
	for i, x := range m {
		if i > 0 {
			msg += ";"
		}
		msg += fmt.Sprintf(" %s matches the recorded allergy %q", x.MedicationName, x.Allergy)
	}
	return apperr.Conflict(msg+". Send allergy_override_reason to prescribe it anyway.").
		WithCode("allergy_conflict").With("allergy_matches", m)
}
