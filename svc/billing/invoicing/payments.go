package invoicing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/auth"
)

// payable statuses: an open invoice that is issued.
func payable(status string) bool {
	switch status {
	case StatusPendingPatient, StatusPartiallyPaid, StatusOverdue, StatusPendingInsurance:
		return true
	}
	return false
}

// available is what the patient may still pay: what is due less what is
// promised (pending payments, open claims).
func available(inv Invoice, reserved Money) Money { return inv.AmountDue.Sub(reserved) }

func overpay(left Money) error { return errOverpay.With("amount_payable", left.String()) }

// Pay charges the invoice's patient's card (spec POST /invoices/{id}/pay/).
// The payment is recorded PENDING first (reserving its amount, so
// concurrent payments cannot together pay more than is due), then charged
// with the payment's own key at the gateway, then settled: SUCCESS moves
// the invoice, a refusal records FAILED and leaves the invoice as it was, an
// unknown outcome leaves it PENDING for the settler (SettlePending).
func (s *Service) Pay(ctx context.Context, invoiceID int64, key string, in PayRequest) (Result[Payment], error) {
	var out Result[Payment]
	c, err := caller(ctx)
	if err != nil {
		return out, err
	}
	if key == "" {
		return out, errKeyRequired
	}
	amount, err := parseMoney("amount", in.Amount, true)
	if err != nil {
		return out, err
	}
	minor, err := s.opts.Currency.MinorUnits(amount)
	if err != nil {
		return out, apperr.Field("amount", "Card payments in "+strings.ToUpper(s.opts.Currency.Code)+" must be a whole amount.")
	}
	scope := "pay:" + id(c.UserID)
	var (
		p      Payment
		inv    Invoice
		replay bool
	)
	err = s.inTx(ctx, func(tx Tx) error {
		stored, err := tx.BeginKey(scope, key, fingerprint(invoiceID, in))
		if err != nil {
			return err
		}
		if stored != nil {
			replay = true
			out.Status = stored.Status
			return json.Unmarshal(stored.Body, &out.Value)
		}
		if inv, err = tx.LockInvoice(invoiceID); err != nil {
			return notFound(err, "invoice", invoiceID)
		}
		if c.Role != auth.RolePatient || !c.IsUser(inv.PatientID) {
			return errNotYours
		}
		if !payable(inv.Status) {
			return errNotPayable
		}
		reserved, err := tx.Reserved(inv.ID)
		if err != nil {
			return fmt.Errorf("reserved on invoice %d: %w", inv.ID, err)
		}
		if left := available(inv, reserved); amount.GreaterThan(left.Decimal) {
			return overpay(left)
		}
		p = Payment{InvoiceID: &inv.ID, PatientID: inv.PatientID, PaymentDate: s.opts.Now().UTC(), Amount: amount,
			PaymentMethod: MethodCreditCard, Status: PaymentPending}
		return tx.InsertPayment(&p, &CardAttempt{Token: in.CardDetails.PaymentMethodToken, Scope: scope, Key: key})
	})
	if err != nil || replay {
		if err == nil && out.Status >= 400 {
			return out, paymentFailed(&GatewayRefusal{Code: "payment_failed", Message: out.Value.Notes}, out.Value.ID)
		}
		return out, err
	}
	txID, chargeErr := s.gateway.Charge(ctx, Charge{
		Amount: minor, Currency: s.opts.Currency.Code, Token: in.CardDetails.PaymentMethodToken,
		IdempotencyKey: chargeKey(p.ID), Description: "Invoice " + inv.InvoiceNumber,
		Metadata: map[string]string{"invoice_number": inv.InvoiceNumber, "payment_id": id(p.ID)},
	})
	return s.settleCharge(context.WithoutCancel(ctx), p.ID, inv.ID, scope, key, txID, chargeErr)
}

func chargeKey(paymentID int64) string { return "billing-payment:" + id(paymentID) }

// settleCharge records the gateway's answer for a PENDING card payment.
func (s *Service) settleCharge(ctx context.Context, paymentID, invoiceID int64, scope, key, txID string, chargeErr error) (Result[Payment], error) {
	var refusal *GatewayRefusal
	if chargeErr != nil && !errors.As(chargeErr, &refusal) {
		s.opts.Logger.WarnContext(ctx, "card charge outcome unknown; left pending", "payment_id", paymentID, "err", chargeErr.Error())
		return Result[Payment]{}, errPaymentInProgress
	}
	var out Result[Payment]
	err := s.inTx(ctx, func(tx Tx) error {
		// Invoice first, then payment: the order every writer takes.
		inv, err := tx.LockInvoice(invoiceID)
		if err != nil {
			return fmt.Errorf("load invoice %d: %w", invoiceID, err)
		}
		p, err := tx.LockPayment(paymentID)
		if err != nil {
			return fmt.Errorf("load payment %d: %w", paymentID, err)
		}
		if p.Status != PaymentPending {
			out = Result[Payment]{p, statusOf(p)}
			return nil // settled by someone else meanwhile
		}
		ev := event(ctx, "billing.payment.card", inv.PatientID, "payment", p.ID).With("invoice_id", inv.ID)
		if refusal != nil {
			p.Status, p.Notes = PaymentFailed, refusal.Message+" ("+refusal.Code+")"
			ev = ev.WithOutcome("FAILED").With("decline_code", refusal.Code)
		} else {
			p.Status, p.TransactionID = PaymentSuccess, &txID
			inv.AmountPaidByPatient = inv.AmountPaidByPatient.Add(p.Amount)
			open, err := tx.OpenClaims(inv.ID)
			if err != nil {
				return err
			}
			settle(&inv, open, s.today())
			inv.UpdatedAt = s.opts.Now().UTC()
			if err := tx.UpdateInvoice(inv); err != nil {
				return fmt.Errorf("update invoice %d: %w", inv.ID, err)
			}
			if err := tx.Enqueue(paymentSuccessful(inv, p)); err != nil {
				return err
			}
		}
		if err := tx.UpdatePayment(p); err != nil {
			return fmt.Errorf("update payment %d: %w", p.ID, err)
		}
		if err := tx.Enqueue(ev.Message()); err != nil {
			return err
		}
		out = Result[Payment]{p, statusOf(p)}
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return tx.FinishKey(scope, key, out.Status, body)
	})
	if err == nil && out.Value.Status == PaymentFailed {
		return out, paymentFailed(&GatewayRefusal{Code: "payment_failed", Message: out.Value.Notes}, out.Value.ID)
	}
	return out, err
}

func statusOf(p Payment) int {
	if p.Status == PaymentFailed {
		return http.StatusUnprocessableEntity
	}
	return http.StatusCreated
}

// SettlePending asks the gateway again, with each payment's own key, about
// card payments whose outcome was unknown (a timeout, a crash between the
// charge and its record) and settles them. It returns how many it settled.
func (s *Service) SettlePending(ctx context.Context, olderThan time.Duration) (int, error) {
	pending, err := s.store.PendingCardPayments(ctx, s.opts.Now().UTC().Add(-olderThan), 100)
	if err != nil {
		return 0, fmt.Errorf("pending card payments: %w", err)
	}
	n := 0
	for _, pc := range pending {
		inv, err := s.store.Invoice(ctx, *pc.InvoiceID)
		if err != nil {
			return n, fmt.Errorf("invoice of payment %d: %w", pc.ID, err)
		}
		minor, err := s.opts.Currency.MinorUnits(pc.Amount)
		if err != nil {
			return n, err
		}
		txID, chargeErr := s.gateway.Charge(ctx, Charge{
			Amount: minor, Currency: s.opts.Currency.Code, Token: pc.Token,
			IdempotencyKey: chargeKey(pc.ID), Description: "Invoice " + inv.InvoiceNumber,
			Metadata: map[string]string{"invoice_number": inv.InvoiceNumber, "payment_id": id(pc.ID)},
		})
		if _, err := s.settleCharge(ctx, pc.ID, inv.ID, pc.Scope, pc.Key, txID, chargeErr); err != nil && !apperr.Is(err, apperr.KindUnprocessable) {
			if errors.Is(err, errPaymentInProgress) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// manualPayment records a payment taken at the counter or on the bank
// account (ADMIN) on inv, locked in tx.
func (s *Service) manualPayment(tx Tx, inv *Invoice, in ManualPayment, amount, reserved Money) (Payment, error) {
	if !payable(inv.Status) {
		return Payment{}, errNotPayable
	}
	if left := available(*inv, reserved); amount.GreaterThan(left.Decimal) {
		return Payment{}, overpay(left)
	}
	ref := in.Reference
	p := Payment{InvoiceID: &inv.ID, PatientID: inv.PatientID, PaymentDate: s.opts.Now().UTC(), Amount: amount,
		PaymentMethod: in.PaymentMethod, TransactionID: &ref, Status: PaymentSuccess, Notes: in.Notes}
	if err := tx.InsertPayment(&p, nil); err != nil {
		return Payment{}, fmt.Errorf("insert payment: %w", err)
	}
	inv.AmountPaidByPatient = inv.AmountPaidByPatient.Add(amount)
	inv.Payments = append(inv.Payments, p)
	return p, nil
}

// refund gives one successful payment back (ADMIN): a card through the
// gateway first (with the payment's own refund key, so a retry never
// refunds twice), then the payment is REFUNDED and the invoice's paid
// amounts and status follow.
func (s *Service) refund(ctx context.Context, c auth.Identity, invoiceID int64, key string, in AdminInvoiceUpdate) (Invoice, error) {
	if in.Reason == "" {
		return Invoice{}, errReasonRequired
	}
	scope := "admin:" + id(c.UserID)
	fp := fingerprint(invoiceID, in)
	inv, err := s.store.Invoice(ctx, invoiceID)
	if err != nil {
		return Invoice{}, notFound(err, "invoice", invoiceID)
	}
	var target *Payment
	for i := range inv.Payments {
		if inv.Payments[i].ID == in.Refund.PaymentID {
			target = &inv.Payments[i]
		}
	}
	if target == nil {
		return Invoice{}, apperr.Field("refund.payment_id", "No such payment on this invoice.")
	}
	if target.Status == PaymentSuccess && target.PaymentMethod == MethodCreditCard && target.TransactionID != nil {
		err := s.gateway.Refund(ctx, *target.TransactionID, "billing-refund:"+id(target.ID))
		var refusal *GatewayRefusal
		if errors.As(err, &refusal) {
			return Invoice{}, apperr.Conflict("The payment gateway refused the refund: " + refusal.Message).WithCode("refund_refused")
		}
		if err != nil {
			return Invoice{}, apperr.Unavailable("The payment gateway did not answer; retry the refund with the same Idempotency-Key.", 30*time.Second)
		}
	}
	var out Invoice
	err = s.inTx(ctx, func(tx Tx) error {
		stored, err := tx.BeginKey(scope, key, fp)
		if err != nil {
			return err
		}
		if stored != nil {
			return json.Unmarshal(stored.Body, &out)
		}
		inv, err := tx.LockInvoice(invoiceID)
		if err != nil {
			return notFound(err, "invoice", invoiceID)
		}
		p, err := tx.LockPayment(in.Refund.PaymentID)
		if err != nil {
			return notFound(err, "payment", in.Refund.PaymentID)
		}
		if p.Status != PaymentSuccess {
			return errNotRefundable
		}
		p.Status = PaymentRefunded
		p.Notes = strings.TrimSpace(p.Notes + "\nRefunded: " + in.Reason)
		if err := tx.UpdatePayment(p); err != nil {
			return fmt.Errorf("update payment %d: %w", p.ID, err)
		}
		if p.PaymentMethod == MethodInsurancePayout {
			inv.AmountPaidByInsurance = inv.AmountPaidByInsurance.Sub(p.Amount)
		} else {
			inv.AmountPaidByPatient = inv.AmountPaidByPatient.Sub(p.Amount)
		}
		if inv.Status == StatusPaid {
			inv.Status = StatusPendingPatient // reopened; settle decides which open status
		}
		open, err := tx.OpenClaims(inv.ID)
		if err != nil {
			return err
		}
		settle(&inv, open, s.today())
		inv.UpdatedAt = s.opts.Now().UTC()
		if err := tx.UpdateInvoice(inv); err != nil {
			return fmt.Errorf("update invoice %d: %w", inv.ID, err)
		}
		for i := range inv.Payments {
			if inv.Payments[i].ID == p.ID {
				inv.Payments[i] = p
			}
		}
		if err := tx.Enqueue(event(ctx, "billing.payment.refund", inv.PatientID, "payment", p.ID).With("reason", in.Reason).Message()); err != nil {
			return err
		}
		out = inv
		body, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return tx.FinishKey(scope, key, http.StatusOK, body)
	})
	return out, err
}
