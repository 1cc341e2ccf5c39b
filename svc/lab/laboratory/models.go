package laboratory

import (
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Order statuses (spec). Items use the same values (the spec lists none for
// items): an item is REQUESTED, its sample collected, processed, resulted
// and awaiting review, released with its order, or cancelled. The order's
// status is derived from its items' (see derivedStatus).
const (
	StatusRequested            = "REQUESTED"
	StatusSampleCollected      = "SAMPLE_COLLECTED"
	StatusProcessing           = "PROCESSING"
	StatusResultsPendingReview = "RESULTS_PENDING_REVIEW"
	StatusCompleted            = "COMPLETED"
	StatusCancelled            = "CANCELLED"
)

// Statuses lists the order and item statuses in their order of progress,
// CANCELLED last.
var Statuses = []string{StatusRequested, StatusSampleCollected, StatusProcessing, StatusResultsPendingReview,
	StatusCompleted, StatusCancelled}

// Priorities.
const (
	PriorityRoutine = "ROUTINE"
	PriorityUrgent  = "URGENT"
)

// Flags the service computes for each analyte.
const (
	FlagNormal       = "NORMAL"
	FlagLow          = "LOW"
	FlagHigh         = "HIGH"
	FlagCriticalLow  = "CRITICAL_LOW"
	FlagCriticalHigh = "CRITICAL_HIGH"
)

// Money is a decimal amount as the platform writes money: a JSON string
// with two decimals ("150000.00"). The domain parses and formats it.
type Money string

// OpenAPISchema documents Money as a decimal string.
func (Money) OpenAPISchema() *openapi3.Schema {
	s := openapi3.NewStringSchema().WithPattern(`^[0-9]+\.[0-9]{2}$`)
	s.Example = "150000.00"
	return s
}

// CatalogTest is a document of lab_test_catalog. Its id is derived from
// test_code (see testID), which therefore never changes.
type CatalogTest struct {
	ID                   string                     `bson:"_id" json:"id"`
	TestCode             string                     `bson:"test_code" json:"test_code"`
	TestName             string                     `bson:"test_name" json:"test_name"`
	Description          string                     `bson:"description" json:"description"`
	SampleTypeRequired   string                     `bson:"sample_type_required" json:"sample_type_required"`
	TurnAroundTimeHours  int                        `bson:"turn_around_time_hours" json:"turn_around_time_hours"`
	Price                Money                      `bson:"price" json:"price"`
	NormalRangesTemplate map[string]AnalyteTemplate `bson:"normal_ranges_template" json:"normal_ranges_template"`
	// IsActive is false once the test is retired (DELETE): it stays
	// readable, and orders placed before keep using it, but it cannot be
	// ordered.
	IsActive  bool       `bson:"is_active" json:"is_active"`
	RetiredAt *time.Time `bson:"retired_at,omitempty" json:"retired_at,omitempty"`
	CreatedAt time.Time  `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time  `bson:"updated_at" json:"updated_at"`
	Version   int64      `bson:"_v" json:"-"`
}

// Ranges are reference limits by sex: male_*/female_* (the spec's keys)
// and min/max for either sex. Any limit may be left out (a range open on
// one side).
type Ranges struct {
	MaleMin   *float64 `bson:"male_min,omitempty" json:"male_min,omitempty"`
	MaleMax   *float64 `bson:"male_max,omitempty" json:"male_max,omitempty"`
	FemaleMin *float64 `bson:"female_min,omitempty" json:"female_min,omitempty"`
	FemaleMax *float64 `bson:"female_max,omitempty" json:"female_max,omitempty"`
	Min       *float64 `bson:"min,omitempty" json:"min,omitempty"`
	Max       *float64 `bson:"max,omitempty" json:"max,omitempty"`
}

// AnalyteTemplate is one analyte of a test's normal_ranges_template: its
// unit, its ranges (the spec's example shape), optional age bands that
// replace them for an age, and optional critical limits, which hold for
// every sex and age.
type AnalyteTemplate struct {
	Unit        string `bson:"unit" json:"unit" validate:"required,max=32"`
	Ranges      `bson:",inline"`
	CriticalMin *float64  `bson:"critical_min,omitempty" json:"critical_min,omitempty"`
	CriticalMax *float64  `bson:"critical_max,omitempty" json:"critical_max,omitempty"`
	AgeBands    []AgeBand `bson:"age_bands,omitempty" json:"age_bands,omitempty" validate:"max=20,dive"`
}

// AgeBand holds the ranges for ages from MinAgeYears (inclusive) to
// MaxAgeYears (exclusive; none: no upper bound), in whole years.
type AgeBand struct {
	MinAgeYears int  `bson:"min_age_years" json:"min_age_years" validate:"gte=0,lte=150"`
	MaxAgeYears *int `bson:"max_age_years,omitempty" json:"max_age_years,omitempty" validate:"omitempty,gte=1,lte=200"`
	Ranges      `bson:",inline"`
}

// CatalogTestRequest creates or replaces (PUT) a catalog test. Price is a
// decimal string.
type CatalogTestRequest struct {
	TestCode             string                     `json:"test_code" validate:"required,max=32"`
	TestName             string                     `json:"test_name" validate:"required,max=200"`
	Description          string                     `json:"description" validate:"max=2000"`
	SampleTypeRequired   string                     `json:"sample_type_required" validate:"max=200"`
	TurnAroundTimeHours  int                        `json:"turn_around_time_hours" validate:"gte=0,lte=8760"`
	Price                string                     `json:"price" validate:"required,max=32"`
	NormalRangesTemplate map[string]AnalyteTemplate `json:"normal_ranges_template" validate:"max=100,dive,keys,required,max=64,endkeys"`
	// IsActive, on PUT, retires (false) or brings back (true) the test.
	IsActive *bool `json:"is_active"`
}

// Order is a document of lab_orders.
type Order struct {
	ID             string    `bson:"_id" json:"id"`
	PatientID      int64     `bson:"patient_id" json:"patient_id"`
	PatientName    string    `bson:"patient_name" json:"patient_name"`
	DoctorID       int64     `bson:"doctor_id" json:"doctor_id"`
	DoctorName     string    `bson:"doctor_name" json:"doctor_name"`
	EHREncounterID *string   `bson:"ehr_encounter_id,omitempty" json:"ehr_encounter_id"`
	OrderDate      time.Time `bson:"order_date" json:"order_date"`
	Status         string    `bson:"status" json:"status"`
	// Priority is URGENT when the order or any of its items was ordered
	// URGENT (the spec has it per item in the request, per order in the
	// document).
	Priority    string `bson:"priority" json:"priority"`
	NotesForLab string `bson:"notes_for_lab" json:"notes_for_lab"`
	Items       []Item `bson:"items" json:"items"`
	// InvoicedAt is when the invoice request went into the outbox (the
	// first time the order reached SAMPLE_COLLECTED).
	InvoicedAt   *time.Time `bson:"invoiced_at,omitempty" json:"invoiced_at,omitempty"`
	ReleasedAt   *time.Time `bson:"released_at,omitempty" json:"released_at,omitempty"`
	ReleasedByID *int64     `bson:"released_by_id,omitempty" json:"released_by_id"`
	CancelReason string     `bson:"cancel_reason,omitempty" json:"cancel_reason,omitempty"`
	UpdatedAt    time.Time  `bson:"updated_at" json:"updated_at"`

	// The patient's sex ("M", "F") and date of birth as the user service
	// knew them, for reference ranges; not shown.
	PatientSex         string `bson:"patient_sex,omitempty" json:"-"`
	PatientDateOfBirth string `bson:"patient_date_of_birth,omitempty" json:"-"`
	// InQueue marks REQUESTED and SAMPLE_COLLECTED orders (the pending
	// list: an equality, served from ix_queue on MongoDB and filtered in
	// PostgreSQL by FerretDB), PriorityRank sorts URGENT first.
	InQueue      bool  `bson:"in_queue" json:"-"`
	PriorityRank int   `bson:"priority_rank" json:"-"`
	Version      int64 `bson:"_v" json:"-"`
}

// Item is one test of an order.
type Item struct {
	ItemID        string `bson:"item_id" json:"item_id"`
	TestCatalogID string `bson:"test_catalog_id" json:"test_catalog_id"`
	TestCode      string `bson:"test_code" json:"test_code"`
	TestName      string `bson:"test_name" json:"test_name"`
	// Price is the catalog price when ordered: what the invoice carries.
	Price        Money   `bson:"price" json:"price"`
	Priority     string  `bson:"priority" json:"priority"`
	SampleID     *string `bson:"sample_id,omitempty" json:"sample_id"`
	ItemStatus   string  `bson:"item_status" json:"item_status"`
	CancelReason string  `bson:"cancel_reason,omitempty" json:"cancel_reason,omitempty"`
	Result       *Result `bson:"result,omitempty" json:"result"`
}

// Result is an item's result. ResultValues, the flags and IsAbnormal are
// computed here from the catalog template and the patient's sex and age.
type Result struct {
	TechnicianID   int64                    `bson:"technician_id" json:"technician_id"`
	ResultDate     time.Time                `bson:"result_date" json:"result_date"`
	VerifiedByID   *int64                   `bson:"verified_by_id,omitempty" json:"verified_by_id"`
	ResultValues   map[string]AnalyteResult `bson:"result_values" json:"result_values"`
	Interpretation string                   `bson:"interpretation" json:"interpretation"`
	ResultFileURL  *string                  `bson:"result_file_url,omitempty" json:"result_file_url"`
	// IsAbnormal: true when an analyte is outside its range, false when
	// every analyte is within its range, null when that cannot be said (a
	// range depends on a sex or age the platform does not know, or there
	// are no values).
	IsAbnormal *bool `bson:"is_abnormal,omitempty" json:"is_abnormal"`
	IsCritical bool  `bson:"is_critical" json:"is_critical"`
	// Notes say what could not be judged and why (unknown sex or date of
	// birth).
	Notes []string `bson:"notes" json:"notes"`
}

// AnalyteResult is one analyte's value with the range it was judged by.
type AnalyteResult struct {
	Value float64 `bson:"value" json:"value"`
	Unit  string  `bson:"unit" json:"unit"`
	// ReferenceRange is null when no limit applies to this patient.
	ReferenceRange *ReferenceRange `bson:"reference_range,omitempty" json:"reference_range"`
	// Flag is NORMAL, LOW, HIGH, CRITICAL_LOW or CRITICAL_HIGH; null when
	// no range applies and no critical limit is crossed.
	Flag       *string `bson:"flag,omitempty" json:"flag"`
	IsAbnormal *bool   `bson:"is_abnormal,omitempty" json:"is_abnormal"`
	Note       string  `bson:"note,omitempty" json:"note,omitempty"`
}

// ReferenceRange is the range an analyte was judged by, and why that one.
type ReferenceRange struct {
	Low          *float64 `bson:"low,omitempty" json:"low"`
	High         *float64 `bson:"high,omitempty" json:"high"`
	CriticalLow  *float64 `bson:"critical_low,omitempty" json:"critical_low"`
	CriticalHigh *float64 `bson:"critical_high,omitempty" json:"critical_high"`
	// Basis names the range chosen: "male", "female, 0-17 years", ...
	Basis string `bson:"basis" json:"basis"`
}

// OrderRequest is the spec's order payload. doctor_id, when given, must be
// the caller's own id; ehr_encounter_id and an order-level priority are
// optional additions.
type OrderRequest struct {
	PatientID      int64              `json:"patient_id" validate:"required,gt=0"`
	DoctorID       int64              `json:"doctor_id" validate:"omitempty,gt=0"`
	Items          []OrderItemRequest `json:"items" validate:"required,min=1,max=100,dive"`
	NotesForLab    string             `json:"notes_for_lab" validate:"max=2000"`
	Priority       string             `json:"priority" validate:"omitempty,oneof=ROUTINE URGENT"`
	EHREncounterID string             `json:"ehr_encounter_id" validate:"max=64"`
}

// OrderItemRequest is one test ordered.
type OrderItemRequest struct {
	TestCatalogID string `json:"test_catalog_id" validate:"required,max=64"`
	Priority      string `json:"priority" validate:"omitempty,oneof=ROUTINE URGENT"`
}

// OrderStatusUpdate is PUT .../status/. SampleID labels the samples
// collected by this change; Reason is kept with a cancellation.
type OrderStatusUpdate struct {
	Status   string `json:"status" validate:"required,oneof=REQUESTED SAMPLE_COLLECTED PROCESSING RESULTS_PENDING_REVIEW COMPLETED CANCELLED"`
	SampleID string `json:"sample_id" validate:"max=64"`
	Reason   string `json:"reason" validate:"max=500"`
}

// ItemStatusUpdate is PUT .../items/{item_id}/status/.
type ItemStatusUpdate struct {
	ItemStatus string `json:"item_status" validate:"required,oneof=REQUESTED SAMPLE_COLLECTED PROCESSING RESULTS_PENDING_REVIEW COMPLETED CANCELLED"`
	SampleID   string `json:"sample_id" validate:"max=64"`
	Reason     string `json:"reason" validate:"max=500"`
}

// ResultRequest is the spec's result payload. technician_id, when given,
// must be the caller's own id. Each value is {value, unit}; a unit, when
// given, must be the catalog's. is_abnormal is accepted for clients that
// send the spec's example, and ignored: the service computes it.
type ResultRequest struct {
	TechnicianID   int64                   `json:"technician_id" validate:"omitempty,gt=0"`
	ResultValues   map[string]AnalyteInput `json:"result_values" validate:"max=100,dive,keys,required,max=64,endkeys"`
	Interpretation string                  `json:"interpretation" validate:"max=4000"`
	ResultFileURL  string                  `json:"result_file_url" validate:"max=2000"`
}

// AnalyteInput is one measured value.
type AnalyteInput struct {
	Value      *float64 `json:"value" validate:"required"`
	Unit       string   `json:"unit" validate:"max=32"`
	IsAbnormal *bool    `json:"is_abnormal"`
}

// Dashboard is what the admin service's dashboard shows of the lab.
type Dashboard struct {
	OrdersRequested       int `json:"lab_orders_requested"`
	OrdersSampleCollected int `json:"lab_orders_sample_collected"`
	OrdersPending         int `json:"lab_orders_pending"`
	ResultsAwaitingReview int `json:"lab_results_awaiting_review"`
	OrdersProcessing      int `json:"lab_orders_processing"`
	CatalogTestsActive    int `json:"lab_catalog_tests_active"`
}
