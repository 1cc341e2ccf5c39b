package invoicing

import (
	"context"
	"fmt"

	"hospital/lib/apperr"
	"hospital/lib/outbox"
)

// changes are an admin update's parsed values.
type changes struct {
	discount, tax *Money
	due           *Date
	payment       *Money
}

func (s *Service) parseChanges(in AdminInvoiceUpdate) (changes, error) {
	var ch changes
	if in.DiscountAmount != nil {
		m, err := parseMoney("discount_amount", *in.DiscountAmount, false)
		if err != nil {
			return ch, err
		}
		ch.discount = &m
	}
	if in.TaxAmount != nil {
		m, err := parseMoney("tax_amount", *in.TaxAmount, false)
		if err != nil {
			return ch, err
		}
		ch.tax = &m
	}
	if (ch.discount != nil || in.Status != nil && *in.Status != StatusPendingPatient) && in.Reason == "" {
		return ch, errReasonRequired
	}
	if in.DueDate != nil {
		d, err := s.parseDay("due_date", *in.DueDate)
		if err != nil {
			return ch, err
		}
		ch.due = &d
	}
	if in.Payment != nil {
		m, err := parseMoney("payment.amount", in.Payment.Amount, true)
		if err != nil {
			return ch, err
		}
		ch.payment = &m
	}
	return ch, nil
}

func isClosed(status string) bool {
	return status == StatusPaid || status == StatusCancelled || status == StatusWrittenOff
}

// applyChanges changes inv (locked in tx) and records what it did.
func (s *Service) applyChanges(ctx context.Context, tx Tx, inv *Invoice, ch changes, in AdminInvoiceUpdate) error {
	today := s.today()
	reserved, err := tx.Reserved(inv.ID)
	if err != nil {
		return fmt.Errorf("reserved on invoice %d: %w", inv.ID, err)
	}
	open, err := tx.OpenClaims(inv.ID)
	if err != nil {
		return fmt.Errorf("open claims on invoice %d: %w", inv.ID, err)
	}
	var msgs []outbox.Message
	ev := event(ctx, "billing.invoice.update", inv.PatientID, "invoice", inv.ID)
	if in.Status != nil && *in.Status == StatusPendingPatient {
		if inv.Status != StatusDraft {
			return apperr.Conflict("Only a draft can be issued.").WithCode("invalid_transition")
		}
		inv.Status = StatusPendingPatient
		inv.IssueDate = today
		if inv.DueDate.Before(today) {
			inv.DueDate = today.AddDays(s.opts.DueDays())
		}
		ev = ev.With("issued", true)
	}
	if ch.discount != nil || ch.tax != nil {
		if isClosed(inv.Status) {
			return errClosedInvoice
		}
		if ch.discount != nil {
			inv.DiscountAmount = *ch.discount
			ev = ev.With("discount_amount", ch.discount.String())
		}
		if ch.tax != nil {
			inv.TaxAmount = *ch.tax
			ev = ev.With("tax_amount", ch.tax.String())
		}
		if err := withinRange("tax_amount", inv.SubTotalAmount.Add(inv.TaxAmount)); err != nil {
			return err
		}
		inv.TotalAmount = inv.SubTotalAmount.Add(inv.TaxAmount).Sub(inv.DiscountAmount)
		floor := inv.AmountPaidByPatient.Add(inv.AmountPaidByInsurance).Add(reserved)
		if inv.TotalAmount.LessThan(floor.Decimal) {
			return apperr.Field("discount_amount", "The total cannot fall below what is paid or promised ("+floor.String()+").")
		}
	}
	if ch.due != nil {
		if isClosed(inv.Status) {
			return errClosedInvoice
		}
		if ch.due.Before(inv.IssueDate) {
			return apperr.Field("due_date", "The due date cannot be before the issue date.")
		}
		inv.DueDate = *ch.due
		ev = ev.With("due_date", ch.due.String())
	}
	settle(inv, open, today)
	if ch.payment != nil {
		p, err := s.manualPayment(tx, inv, *in.Payment, *ch.payment, reserved)
		if err != nil {
			return err
		}
		settle(inv, open, today)
		msgs = append(msgs, paymentSuccessful(*inv, p),
			event(ctx, "billing.payment.create", inv.PatientID, "payment", p.ID).With("method", p.PaymentMethod).Message())
	}
	if in.Status != nil && *in.Status != StatusPendingPatient {
		if err := closeInvoice(inv, *in.Status, reserved); err != nil {
			return err
		}
		ev = ev.With("status", *in.Status)
	}
	if in.Reason != "" {
		inv.StatusReason = in.Reason
		ev = ev.With("reason", in.Reason)
	}
	inv.UpdatedAt = s.opts.Now().UTC()
	if err := tx.UpdateInvoice(*inv); err != nil {
		return fmt.Errorf("update invoice %d: %w", inv.ID, err)
	}
	if in.Status != nil && *in.Status == StatusPendingPatient {
		msgs = append(msgs, invoiceGenerated(*inv))
	}
	return tx.Enqueue(append(msgs, ev.Message())...)
}

// closeInvoice cancels (nothing paid or promised) or writes off (something
// still due, nothing pending) inv.
func closeInvoice(inv *Invoice, to string, reserved Money) error {
	paid := inv.AmountPaidByPatient.Add(inv.AmountPaidByInsurance)
	switch {
	case inv.Status == StatusCancelled || inv.Status == StatusWrittenOff || inv.Status == StatusPaid:
		return errClosedInvoice
	case reserved.IsPositive():
		return apperr.Conflict("A payment or an insurance claim is still pending on this invoice.").WithCode("invoice_has_pending")
	case to == StatusCancelled && paid.IsPositive():
		return apperr.Conflict("An invoice with payments cannot be cancelled; refund them first or write it off.").WithCode("invalid_transition")
	case to == StatusWrittenOff && inv.Status == StatusDraft:
		return apperr.Conflict("A draft cannot be written off; cancel it.").WithCode("invalid_transition")
	}
	inv.Status = to
	return nil
}
