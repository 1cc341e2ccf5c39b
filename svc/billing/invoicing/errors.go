package invoicing

import (
	"time"

	"hospital/lib/apperr"
)

var (
	errNotFound          = apperr.NotFound("Not found.")
	errNotYours          = apperr.Forbidden("You do not have permission to access this resource.")
	errNotPayable        = apperr.Conflict("This invoice cannot be paid in its current status.").WithCode("invoice_not_payable")
	errOverpay           = apperr.Conflict("The amount exceeds what is outstanding on this invoice.").WithCode("amount_exceeds_outstanding")
	errPaymentInProgress = apperr.Unavailable("The payment gateway did not confirm the charge yet; it is being settled. Retry later with the same Idempotency-Key.", 30*time.Second).WithCode("payment_pending")
	errKeyRequired       = apperr.Field("Idempotency-Key", "This header is required for a payment.")
	errReasonRequired    = apperr.Field("reason", "A reason is required to discount, cancel, write off or refund.")
	errClosedInvoice     = apperr.Conflict("This invoice is closed (paid, cancelled or written off).").WithCode("invoice_closed")
	errDuplicatePolicy   = apperr.Field("policy_number", "An insurance policy with this policy number already exists.")
	errOpenClaim         = apperr.Conflict("An open claim for this invoice and policy already exists.").WithCode("claim_already_open")
	errNotRefundable     = apperr.Conflict("Only a successful payment can be refunded.").WithCode("payment_not_refundable")
	errNothingToDo       = apperr.Invalid("The request changes nothing: give a discount, tax, due date, status, payment or refund.")
)

// GatewayRefusal is the gateway's definite "not charged": a declined card,
// an unusable payment method, a request it refused. The payment is FAILED
// and the invoice unchanged.
type GatewayRefusal struct {
	Code    string // e.g. card_declined, invalid_request_error
	Message string // the gateway's words, safe to show (no card data)
}

func (e *GatewayRefusal) Error() string {
	return "payment refused by gateway: " + e.Code + ": " + e.Message
}

// paymentFailed is the answer to a refused card payment (402).
func paymentFailed(r *GatewayRefusal, paymentID int64) *apperr.Error {
	return apperr.New(apperr.KindUnprocessable, "The payment was refused: "+r.Message).
		WithCode("payment_failed").With("decline_code", r.Code).With("payment_id", paymentID)
}
