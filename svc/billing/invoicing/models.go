package invoicing

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// JSONObject is the spec's JSONField: any JSON object, kept as sent.
type JSONObject json.RawMessage

// MarshalJSON writes the object ({} when empty).
func (j JSONObject) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("{}"), nil
	}
	return j, nil
}

// UnmarshalJSON accepts a JSON object or null, nothing else.
func (j *JSONObject) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*j = nil
		return nil
	}
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return errors.New("a JSON object is required")
	}
	*j = append((*j)[:0], b...)
	return nil
}

// OpenAPISchema documents JSONObject as a free-form object.
func (JSONObject) OpenAPISchema() *openapi3.Schema { return openapi3.NewObjectSchema() }

// Invoice statuses (spec choices). See README for the machine.
const (
	StatusDraft            = "DRAFT"
	StatusPendingPatient   = "PENDING_PATIENT"
	StatusPendingInsurance = "PENDING_INSURANCE"
	StatusPartiallyPaid    = "PARTIALLY_PAID"
	StatusPaid             = "PAID"
	StatusOverdue          = "OVERDUE"
	StatusCancelled        = "CANCELLED"
	StatusWrittenOff       = "WRITTEN_OFF"
)

// Invoice item types (spec choices).
const (
	ItemConsultation = "CONSULTATION"
	ItemMedication   = "MEDICATION"
	ItemLabTest      = "LAB_TEST"
	ItemOther        = "OTHER_SERVICE"
)

// Payment methods and statuses (spec choices).
const (
	MethodCreditCard      = "CREDIT_CARD"
	MethodCash            = "CASH"
	MethodBankTransfer    = "BANK_TRANSFER"
	MethodInsurancePayout = "INSURANCE_PAYOUT"
	MethodVoucher         = "VOUCHER"

	PaymentSuccess  = "SUCCESS"
	PaymentFailed   = "FAILED"
	PaymentPending  = "PENDING"
	PaymentRefunded = "REFUNDED"
)

// Invoice is the spec's Invoice with its items, payments and claims.
type Invoice struct {
	ID                            int64   `json:"id"`
	PatientID                     int64   `json:"patient_id"`
	InvoiceNumber                 string  `json:"invoice_number"`
	IssueDate                     Date    `json:"issue_date"`
	DueDate                       Date    `json:"due_date"`
	SubTotalAmount                Money   `json:"sub_total_amount"`
	TaxAmount                     Money   `json:"tax_amount"`
	DiscountAmount                Money   `json:"discount_amount"`
	TotalAmount                   Money   `json:"total_amount"`
	AmountPaidByPatient           Money   `json:"amount_paid_by_patient"`
	AmountPaidByInsurance         Money   `json:"amount_paid_by_insurance"`
	Status                        string  `json:"status"`
	RelatedAppointmentID          *int64  `json:"related_appointment_id"`
	RelatedPrescriptionDispenseID *string `json:"related_prescription_dispense_id"`
	RelatedLabOrderID             *string `json:"related_lab_order_id"`
	// AmountDue is what is still owed: total − paid by patient − paid by insurance.
	AmountDue Money `json:"amount_due"`
	// StatusReason is why an admin discounted, cancelled or wrote it off.
	StatusReason string        `json:"status_reason"`
	Items        []InvoiceItem `json:"items"`
	Payments     []Payment     `json:"payments"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// InvoiceItem is the spec's InvoiceItem.
type InvoiceItem struct {
	ID          int64  `json:"id"`
	ItemType    string `json:"item_type"`
	Description string `json:"description"`
	Quantity    Money  `json:"quantity"`
	UnitPrice   Money  `json:"unit_price"`
	TotalPrice  Money  `json:"total_price"`
}

// Payment is the spec's Payment. TransactionID is the gateway's charge id
// for cards and the bank's or cashier's reference for manual payments.
type Payment struct {
	ID            int64     `json:"id"`
	InvoiceID     *int64    `json:"invoice_id"`
	PatientID     int64     `json:"patient_id"`
	PaymentDate   time.Time `json:"payment_date"`
	Amount        Money     `json:"amount"`
	PaymentMethod string    `json:"payment_method"`
	TransactionID *string   `json:"transaction_id"`
	Status        string    `json:"status"`
	Notes         string    `json:"notes"`
}

// InsurancePolicy is the spec's InsurancePolicy.
type InsurancePolicy struct {
	ID                  int64      `json:"id"`
	PatientID           int64      `json:"patient_id"`
	InsuranceProviderID *int64     `json:"insurance_provider_id"`
	ProviderName        string     `json:"provider_name"`
	PolicyNumber        string     `json:"policy_number"`
	MemberID            string     `json:"member_id"`
	ValidFrom           Date       `json:"valid_from"`
	ValidTo             Date       `json:"valid_to"`
	CoverageDetailsJSON JSONObject `json:"coverage_details_json"`
	IsActive            bool       `json:"is_active"`
	CreatedAt           time.Time  `json:"created_at"`
}

// InsuranceClaim is the spec's InsuranceClaim.
type InsuranceClaim struct {
	ID                int64     `json:"id"`
	InvoiceID         int64     `json:"invoice_id"`
	InsurancePolicyID int64     `json:"insurance_policy_id"`
	SubmissionDate    Date      `json:"submission_date"`
	ClaimAmount       Money     `json:"claim_amount"`
	ApprovedAmount    *Money    `json:"approved_amount"`
	RejectedAmount    *Money    `json:"rejected_amount"`
	Status            string    `json:"status"`
	InsurerNotes      string    `json:"insurer_notes"`
	HospitalNotes     string    `json:"hospital_notes"`
	PatientID         int64     `json:"patient_id"`
	InvoiceNumber     string    `json:"invoice_number"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Requests.

// CreateInvoiceRequest is POST /admin/invoices/: an invoice made by hand.
type CreateInvoiceRequest struct {
	PatientID int64         `json:"patient_id" validate:"required,gt=0"`
	Items     []ItemRequest `json:"items" validate:"required,min=1,max=100,dive"`
	TaxAmount string        `json:"tax_amount" validate:"omitempty,max=32"`
	Discount  string        `json:"discount_amount" validate:"omitempty,max=32"`
	DueDate   string        `json:"due_date" validate:"omitempty,max=10"`
	Draft     bool          `json:"draft"`
	Reason    string        `json:"status_reason" validate:"max=500"`
}

// ItemRequest is one line of a manual invoice.
type ItemRequest struct {
	ItemType    string `json:"item_type" validate:"required,oneof=CONSULTATION MEDICATION LAB_TEST OTHER_SERVICE"`
	Description string `json:"description" validate:"required,max=255"`
	Quantity    string `json:"quantity" validate:"omitempty,max=16"`
	UnitPrice   string `json:"unit_price" validate:"required,max=32"`
}

// PayRequest is POST /invoices/{id}/pay/. The spec's
// card_details_if_applicable carries a gateway token (payment_method_token),
// never card numbers: anything else in it is refused.
type PayRequest struct {
	PaymentMethod string       `json:"payment_method" validate:"required,oneof=CREDIT_CARD"`
	Amount        string       `json:"amount" validate:"required,max=32"`
	CardDetails   *CardDetails `json:"card_details_if_applicable" validate:"required"`
}

// CardDetails names the card by the token the payment page got from the
// gateway (Stripe.js), e.g. "tok_visa" or "pm_...".
type CardDetails struct {
	PaymentMethodToken string `json:"payment_method_token" validate:"required,max=255,printascii"`
}

// AdminInvoiceUpdate is PUT /admin/invoices/{id}/: any of a discount or tax
// change, a new due date, issuing a draft, cancelling or writing off (with
// a reason), recording a manual payment, refunding a payment.
type AdminInvoiceUpdate struct {
	DiscountAmount *string        `json:"discount_amount" validate:"omitempty,max=32"`
	TaxAmount      *string        `json:"tax_amount" validate:"omitempty,max=32"`
	DueDate        *string        `json:"due_date" validate:"omitempty,max=10"`
	Status         *string        `json:"status" validate:"omitempty,oneof=PENDING_PATIENT CANCELLED WRITTEN_OFF"`
	Reason         string         `json:"reason" validate:"max=500"`
	Payment        *ManualPayment `json:"payment"`
	Refund         *RefundRequest `json:"refund"`
}

// ManualPayment is a payment taken at the counter or seen on the bank account.
type ManualPayment struct {
	PaymentMethod string `json:"payment_method" validate:"required,oneof=CASH BANK_TRANSFER VOUCHER"`
	Amount        string `json:"amount" validate:"required,max=32"`
	Reference     string `json:"reference" validate:"required,max=100"`
	Notes         string `json:"notes" validate:"max=1000"`
}

// RefundRequest refunds one successful payment of the invoice in full.
type RefundRequest struct {
	PaymentID int64 `json:"payment_id" validate:"required,gt=0"`
}

// PolicyRequest is POST /patients/{id}/insurance-policies/.
type PolicyRequest struct {
	InsuranceProviderID *int64     `json:"insurance_provider_id" validate:"omitempty,gt=0"`
	ProviderName        string     `json:"provider_name" validate:"required,max=100"`
	PolicyNumber        string     `json:"policy_number" validate:"required,max=100"`
	MemberID            string     `json:"member_id" validate:"required,max=100"`
	ValidFrom           string     `json:"valid_from" validate:"required,max=10"`
	ValidTo             string     `json:"valid_to" validate:"required,max=10"`
	CoverageDetailsJSON JSONObject `json:"coverage_details_json"`
	IsActive            *bool      `json:"is_active"`
}

// ClaimRequest is POST /invoices/{id}/claims/.
type ClaimRequest struct {
	InsurancePolicyID int64  `json:"insurance_policy_id" validate:"required,gt=0"`
	ClaimAmount       string `json:"claim_amount" validate:"required,max=32"`
	HospitalNotes     string `json:"hospital_notes" validate:"max=2000"`
}

// ClaimUpdate is PUT /admin/claims/{id}/ and PUT
// /insurance-provider/claims/{id}/process/: the next status and, for a
// decision, the amounts (approved + rejected = claim amount).
type ClaimUpdate struct {
	Status         string  `json:"status" validate:"required,oneof=SUBMITTED PROCESSING AWAITING_DOCUMENTS APPROVED PARTIALLY_APPROVED REJECTED PAID_BY_INSURER CLOSED"`
	ApprovedAmount *string `json:"approved_amount" validate:"omitempty,max=32"`
	RejectedAmount *string `json:"rejected_amount" validate:"omitempty,max=32"`
	InsurerNotes   *string `json:"insurer_notes" validate:"omitempty,max=2000"`
	HospitalNotes  *string `json:"hospital_notes" validate:"omitempty,max=2000"`
}

// InvoiceFilter narrows the admin list.
type InvoiceFilter struct {
	Statuses  []string
	PatientID *int64
	From, To  *Date // issue_date, inclusive
	// Ordering is a column name, "-" first for descending.
	Ordering string
}

// ClaimFilter narrows claim lists.
type ClaimFilter struct {
	Statuses   []string
	ProviderID *int64
	PatientID  *int64
}

// Page asks for one page of a list.
type Page struct{ Limit, Offset int }

// Result is a created thing and the status it was answered with (201 the
// first time; a replay answers what the first request was answered).
type Result[T any] struct {
	Value  T
	Status int
}
