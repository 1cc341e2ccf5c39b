package dispensing

import "time"

// Kinds of stock movement: every change of a medication's stock is one,
// recorded in the movement ledger (the stock card).
const (
	MovementReceipt          = "RECEIPT"
	MovementDispense         = "DISPENSE"
	MovementDispenseReversal = "DISPENSE_REVERSAL"
	MovementAdjustment       = "ADJUSTMENT"
	MovementExpiryWriteOff   = "EXPIRY_WRITE_OFF"
	MovementReorderLevel     = "REORDER_LEVEL"
)

// MovementKinds lists them.
var MovementKinds = []string{MovementReceipt, MovementDispense, MovementDispenseReversal, MovementAdjustment,
	MovementExpiryWriteOff, MovementReorderLevel}

// RoleSystem is the actor of movements the service makes on its own (the
// scheduled expiry write-off, the rollback of an interrupted dispense).
const RoleSystem = "SYSTEM"

// Stock is the pharmacy's stock of one medication (collection
// pharmacy_stock, one document per medication, _id = medication_id; kept by
// versions: see store). QuantityOnHand is always the sum of the batches.
type Stock struct {
	ID              string     `bson:"_id" json:"-"`
	MedicationID    string     `bson:"medication_id" json:"medication_id"`
	MedicationName  string     `bson:"medication_name" json:"medication_name"`
	QuantityOnHand  int64      `bson:"quantity_on_hand" json:"quantity_on_hand"`
	ReorderLevel    int64      `bson:"reorder_level" json:"reorder_level"`
	LastStockedDate *time.Time `bson:"last_stocked_date" json:"last_stocked_date,omitempty"`
	// ExpiryDates are the batches on hand (spec name), earliest expiry
	// first; a batch leaves the list when it is used up.
	ExpiryDates []Batch   `bson:"expiry_dates" json:"expiry_dates"`
	UpdatedAt   time.Time `bson:"updated_at" json:"updated_at"`
	Version     int64     `bson:"_v" json:"version"`
	// LastMovement is the change that made this version: the ledger entry
	// it is copied to.
	LastMovement Movement `bson:"last_movement" json:"-"`
}

// Batch is one batch on hand. ExpiryDate is a calendar date (midnight
// UTC): the batch may be dispensed before that day, never on or after it.
type Batch struct {
	BatchNumber string    `bson:"batch_number" json:"batch_number"`
	Quantity    int64     `bson:"quantity" json:"quantity"`
	ExpiryDate  time.Time `bson:"expiry_date" json:"expiry_date"`
}

// StockView is a stock record as the API shows it: the document and what
// follows from it today.
type StockView struct {
	Stock
	// QuantityAvailable is what may be dispensed: unexpired batches only.
	QuantityAvailable int64 `json:"quantity_available"`
	// QuantityExpired is on hand but past its expiry, awaiting write-off.
	QuantityExpired int64 `json:"quantity_expired"`
	IsLowStock      bool  `json:"is_low_stock"`
	// ExpiringBatches are the unexpired batches that expire within the
	// window (ExpiringWithinDays days from today).
	ExpiringBatches    []Batch `json:"expiring_batches"`
	ExpiringWithinDays int     `json:"expiring_within_days"`
}

// Movement is one entry of the stock card: a change of one medication's
// stock, who made it, when, why and which batches it touched. Quantities
// are signed (a dispense is negative); QuantityOnHand and ReorderLevel are
// the values after it. Sequence numbers a medication's movements 1, 2, ...
type Movement struct {
	ID             string          `bson:"_id" json:"id"`
	MedicationID   string          `bson:"medication_id" json:"medication_id"`
	Sequence       int64           `bson:"sequence" json:"sequence"`
	Kind           string          `bson:"kind" json:"kind"`
	Quantity       int64           `bson:"quantity" json:"quantity"`
	Batches        []BatchQuantity `bson:"batches" json:"batches"`
	QuantityOnHand int64           `bson:"quantity_on_hand" json:"quantity_on_hand"`
	ReorderLevel   int64           `bson:"reorder_level" json:"reorder_level"`
	Reason         string          `bson:"reason" json:"reason"`
	DispenseLogID  *string         `bson:"dispense_log_id" json:"dispense_log_id"`
	PrescriptionID *string         `bson:"prescription_id" json:"prescription_id"`
	ActorID        int64           `bson:"actor_id" json:"actor_id"`
	ActorRole      string          `bson:"actor_role" json:"actor_role"`
	At             time.Time       `bson:"at" json:"at"`
}

// StockUpdate is PUT /pharmacy/stock/{medication_id}/: one movement (a
// receipt of a batch, adjustments of batches on hand, or the write-off of
// expired batches) and/or a new reorder level.
type StockUpdate struct {
	// A receipt: all three together; expiry_date (YYYY-MM-DD) after today.
	BatchNumber string `json:"batch_number" validate:"max=64"`
	Quantity    int64  `json:"quantity" validate:"gte=0,lte=10000000"`
	ExpiryDate  string `json:"expiry_date" validate:"max=10"`
	// ReorderLevel: below it, the pharmacists are told (once per crossing).
	ReorderLevel *int64 `json:"reorder_level" validate:"omitempty,gte=0,lte=10000000"`
	// Adjustments correct batches on hand (a count, breakage), each with
	// its reason.
	Adjustments []Adjustment `json:"adjustments" validate:"max=20,dive"`
	// WriteOffExpired removes every batch past its expiry.
	WriteOffExpired bool   `json:"write_off_expired"`
	Reason          string `json:"reason" validate:"max=500"`
}

// Adjustment changes the quantity of one batch on hand.
type Adjustment struct {
	BatchNumber    string `json:"batch_number" validate:"required,max=64"`
	QuantityChange int64  `json:"quantity_change" validate:"required,gte=-10000000,lte=10000000"`
	Reason         string `json:"reason" validate:"required,max=500"`
}

// StockFilter narrows the stock list.
type StockFilter struct {
	LowStock *bool
	Search   string
	// ExpiringWithinDays overrides the window of "expiring soon" (0: the
	// live pharmacy.expiry_warning_days, EXPIRY_WARNING_DAYS until set).
	ExpiringWithinDays int
}

// MovementFilter narrows a stock card.
type MovementFilter struct {
	Kind string
}

// StockAlert is what a stock change that crosses below the reorder level
// asks the service to tell every pharmacist (delivered to this service's
// own internal endpoint through the outbox, so the fan-out to recipients
// survives a user-service outage).
type StockAlert struct {
	MedicationID   string `json:"medication_id" validate:"required,max=64"`
	MedicationName string `json:"medication_name" validate:"required,max=200"`
	Sequence       int64  `json:"sequence" validate:"required,gt=0"`
	QuantityOnHand int64  `json:"quantity_on_hand" validate:"gte=0"`
	ReorderLevel   int64  `json:"reorder_level" validate:"gte=0"`
}

// StockAlertResult answers a fan-out.
type StockAlertResult struct {
	Recipients int `json:"recipients"`
}

// Dashboard is the pharmacy's figures for the admin dashboard.
type Dashboard struct {
	PrescriptionsPendingVerification int `json:"prescriptions_pending_verification"`
	MedicationsBelowReorderLevel     int `json:"medications_below_reorder_level"`
	BatchesExpiringSoon              int `json:"batches_expiring_soon"`
	ExpiryWindowDays                 int `json:"expiry_window_days"`
}
