package dispensing

import "time"

// Prescription statuses (spec section 4).
const (
	StatusPendingVerification = "PENDING_VERIFICATION"
	StatusVerified            = "VERIFIED"
	StatusDispensedPartial    = "DISPENSED_PARTIAL"
	StatusDispensedFull       = "DISPENSED_FULL"
	StatusCancelled           = "CANCELLED"
)

// Statuses lists every prescription status.
var Statuses = []string{StatusPendingVerification, StatusVerified, StatusDispensedPartial, StatusDispensedFull, StatusCancelled}

// Payment statuses of a dispense log. The spec names PAID and
// PENDING_BILLING; BILLED means billing has created the invoice (what the
// patient pays is billing's business: no flow tells the pharmacy of it).
const (
	PaymentPendingBilling = "PENDING_BILLING"
	PaymentBilled         = "BILLED"
	PaymentPaid           = "PAID"
)

// Medication is an entry of the central catalog (collection medications).
type Medication struct {
	ID             string    `bson:"_id" json:"id"`
	MedicationCode string    `bson:"medication_code" json:"medication_code"`
	Name           string    `bson:"name" json:"name"`
	GenericName    string    `bson:"generic_name" json:"generic_name"`
	Manufacturer   string    `bson:"manufacturer" json:"manufacturer"`
	Description    string    `bson:"description" json:"description"`
	UnitPrice      Money     `bson:"unit_price" json:"unit_price"`
	DosageForm     string    `bson:"dosage_form" json:"dosage_form"`
	Strength       string    `bson:"strength" json:"strength"`
	CreatedAt      time.Time `bson:"created_at" json:"created_at"`
}

// MedicationRequest creates a catalog entry (ADMIN).
type MedicationRequest struct {
	MedicationCode string `json:"medication_code" validate:"required,max=32"`
	Name           string `json:"name" validate:"required,max=200"`
	GenericName    string `json:"generic_name" validate:"required,max=200"`
	Manufacturer   string `json:"manufacturer" validate:"max=200"`
	Description    string `json:"description" validate:"max=2000"`
	// UnitPrice is a decimal string ("1000.00"), at most two decimals.
	UnitPrice  string `json:"unit_price" validate:"required,max=32"`
	DosageForm string `json:"dosage_form" validate:"max=100"`
	Strength   string `json:"strength" validate:"max=100"`
}

// Prescription is one prescription (collection prescriptions, kept by
// versions: see store). Its _id is an ObjectId's hex string.
type Prescription struct {
	ID                 string          `bson:"_id" json:"id"`
	PatientID          int64           `bson:"patient_id" json:"patient_id"`
	PatientName        string          `bson:"patient_name" json:"patient_name"`
	DoctorID           int64           `bson:"doctor_id" json:"doctor_id"`
	DoctorName         string          `bson:"doctor_name" json:"doctor_name"`
	EHREncounterID     *string         `bson:"ehr_encounter_id" json:"ehr_encounter_id"`
	DatePrescribed     time.Time       `bson:"date_prescribed" json:"date_prescribed"`
	Status             string          `bson:"status" json:"status"`
	NotesForPharmacist string          `bson:"notes_for_pharmacist" json:"notes_for_pharmacist"`
	Items              []Item          `bson:"items" json:"items"`
	DispenseHistory    []DispenseEntry `bson:"dispense_history" json:"dispense_history"`
	AllergyCheck       AllergyCheck    `bson:"allergy_check" json:"allergy_check"`
	VerifiedBy         *int64          `bson:"verified_by" json:"verified_by"`
	// VerifiedAt (and Stock.LastStockedDate) are left out until set rather
	// than null: lib/api documents a nullable time as not nullable.
	VerifiedAt   *time.Time    `bson:"verified_at" json:"verified_at,omitempty"`
	Cancellation *Cancellation `bson:"cancellation" json:"cancellation"`
	UpdatedAt    time.Time     `bson:"updated_at" json:"updated_at"`
	// Version counts the prescription's changes (1 when created).
	Version int64 `bson:"_v" json:"version"`

	// Pending holds dispenses under way: their quantities are reserved
	// until each is recorded in DispenseHistory or rolled back.
	Pending []PendingDispense `bson:"pending_dispenses" json:"-"`
	// Dispensing is true while Pending is not empty, and AwaitingPharmacy
	// while the prescription waits to be verified or dispensed: equality
	// filters, served from an index on MongoDB and filtered in PostgreSQL
	// (a table scan) by FerretDB.
	Dispensing       bool `bson:"dispensing" json:"-"`
	AwaitingPharmacy bool `bson:"awaiting_pharmacy" json:"-"`
}

// Item is one prescribed medication. QuantityDispensed is what the
// dispenses recorded so far gave of it.
type Item struct {
	ItemID             string `bson:"item_id" json:"item_id"`
	MedicationID       string `bson:"medication_id" json:"medication_id"`
	MedicationName     string `bson:"medication_name" json:"medication_name"`
	Dosage             string `bson:"dosage" json:"dosage"`
	Frequency          string `bson:"frequency" json:"frequency"`
	DurationDays       int    `bson:"duration_days" json:"duration_days"`
	Instructions       string `bson:"instructions" json:"instructions"`
	QuantityPrescribed int64  `bson:"quantity_prescribed" json:"quantity_prescribed"`
	QuantityDispensed  int64  `bson:"quantity_dispensed" json:"quantity_dispensed"`
}

// DispenseEntry is a dispense as the prescription records it (spec:
// dispense_history).
type DispenseEntry struct {
	DispenseLogID  string      `bson:"dispense_log_id" json:"dispense_log_id"`
	PharmacistID   int64       `bson:"pharmacist_id" json:"pharmacist_id"`
	DateDispensed  time.Time   `bson:"date_dispensed" json:"date_dispensed"`
	DispensedItems []EntryItem `bson:"dispensed_items" json:"dispensed_items"`
}

// EntryItem is one line of a dispense in dispense_history.
type EntryItem struct {
	ItemIDRef         string `bson:"item_id_ref" json:"item_id_ref"`
	QuantityDispensed int64  `bson:"quantity_dispensed" json:"quantity_dispensed"`
}

// AllergyCheck is what the prescribing check found in the patient's EHR,
// shown to the pharmacist. RecordFound is false when the patient had no
// medical record (nothing was known, which is not "no allergies").
type AllergyCheck struct {
	CheckedAt      time.Time      `bson:"checked_at" json:"checked_at"`
	RecordFound    bool           `bson:"record_found" json:"record_found"`
	Allergies      []string       `bson:"allergies" json:"allergies"`
	Matches        []AllergyMatch `bson:"matches" json:"matches"`
	OverrideReason *string        `bson:"override_reason" json:"override_reason"`
}

// AllergyMatch is a recorded allergy that a prescribed medication matches.
type AllergyMatch struct {
	Allergy        string `bson:"allergy" json:"allergy"`
	MedicationID   string `bson:"medication_id" json:"medication_id"`
	MedicationName string `bson:"medication_name" json:"medication_name"`
}

// Cancellation records who cancelled a prescription, when and why.
type Cancellation struct {
	By     int64     `bson:"by" json:"by"`
	Role   string    `bson:"role" json:"role"`
	Reason string    `bson:"reason" json:"reason"`
	At     time.Time `bson:"at" json:"at"`
}

// PendingDispense is a dispense under way (see Prescription.Pending).
type PendingDispense struct {
	DispenseLogID string        `bson:"dispense_log_id"`
	PharmacistID  int64         `bson:"pharmacist_id"`
	Items         []PendingLine `bson:"items"`
	At            time.Time     `bson:"at"`
}

// PendingLine is what a dispense under way holds of one item. It carries
// no price: a versioned document holds no decimal (FerretDB v1 drops the
// connection on a BSON Decimal128).
type PendingLine struct {
	PrescriptionItemIDRef string `bson:"prescription_item_id_ref"`
	MedicationID          string `bson:"medication_id"`
	MedicationName        string `bson:"medication_name"`
	QuantityDispensed     int64  `bson:"quantity_dispensed"`
}

// PrescribeRequest is POST /prescriptions/ (spec payload). DoctorID, when
// given, must be the caller: the prescriber is whoever signs the request.
type PrescribeRequest struct {
	PatientID          int64         `json:"patient_id" validate:"required,gt=0"`
	DoctorID           int64         `json:"doctor_id" validate:"omitempty,gt=0"`
	EHREncounterID     string        `json:"ehr_encounter_id" validate:"max=64"`
	Items              []ItemRequest `json:"items" validate:"required,min=1,max=50,dive"`
	NotesForPharmacist string        `json:"notes_for_pharmacist" validate:"max=2000"`
	// AllergyOverrideReason lets a prescription through an allergy match;
	// it is kept on the prescription and shown to the pharmacist.
	AllergyOverrideReason string `json:"allergy_override_reason" validate:"max=1000"`
}

// ItemRequest is one prescribed medication.
type ItemRequest struct {
	MedicationID       string `json:"medication_id" validate:"required,max=64"`
	Dosage             string `json:"dosage" validate:"required,max=200"`
	Frequency          string `json:"frequency" validate:"required,max=200"`
	DurationDays       int    `json:"duration_days" validate:"required,gt=0,lte=365"`
	Instructions       string `json:"instructions" validate:"max=1000"`
	QuantityPrescribed int64  `json:"quantity_prescribed" validate:"required,gt=0"`
}

// CancelRequest cancels a prescription (its prescriber or a pharmacist).
type CancelRequest struct {
	Reason string `json:"reason" validate:"required,max=1000"`
}

// PrescriptionFilter narrows a list of prescriptions.
type PrescriptionFilter struct {
	Status string
}

// DispenseRequest is POST .../dispense/ (spec payload). PharmacistID, when
// given, must be the caller.
type DispenseRequest struct {
	PharmacistID   int64                 `json:"pharmacist_id" validate:"omitempty,gt=0"`
	ItemsDispensed []DispenseItemRequest `json:"items_dispensed" validate:"required,min=1,max=50,dive"`
}

// DispenseItemRequest is one line of a dispense.
type DispenseItemRequest struct {
	PrescriptionItemIDRef string `json:"prescription_item_id_ref" validate:"required,max=64"`
	QuantityDispensed     int64  `json:"quantity_dispensed" validate:"required,gt=0"`
}

// DispenseLog is one dispense (collection dispense_logs): the commit point
// of a dispense, and the source of its invoice.
type DispenseLog struct {
	ID             string          `bson:"_id" json:"id"`
	PrescriptionID string          `bson:"prescription_id" json:"prescription_id"`
	PatientID      int64           `bson:"patient_id" json:"patient_id"`
	PharmacistID   int64           `bson:"pharmacist_id" json:"pharmacist_id"`
	DateDispensed  time.Time       `bson:"date_dispensed" json:"date_dispensed"`
	DispensedItems []DispensedItem `bson:"dispensed_items" json:"dispensed_items"`
	TotalPrice     Money           `bson:"total_price" json:"total_price"`
	PaymentStatus  string          `bson:"payment_status" json:"payment_status"`
}

// DispensedItem is one line of a dispense log, with the batches it came
// from (first expiry first out) and the catalog price at the time.
type DispensedItem struct {
	PrescriptionItemIDRef string          `bson:"prescription_item_id_ref" json:"prescription_item_id_ref"`
	MedicationID          string          `bson:"medication_id" json:"medication_id"`
	MedicationName        string          `bson:"medication_name" json:"medication_name"`
	QuantityDispensed     int64           `bson:"quantity_dispensed" json:"quantity_dispensed"`
	UnitPrice             Money           `bson:"unit_price" json:"unit_price"`
	TotalPrice            Money           `bson:"total_price" json:"total_price"`
	Batches               []BatchQuantity `bson:"batches" json:"batches"`
}

// BatchQuantity is a quantity of one batch.
type BatchQuantity struct {
	BatchNumber string    `bson:"batch_number" json:"batch_number"`
	Quantity    int64     `bson:"quantity" json:"quantity"`
	ExpiryDate  time.Time `bson:"expiry_date" json:"expiry_date"`
}
