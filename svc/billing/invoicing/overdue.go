package invoicing

import (
	"context"
	"fmt"
)

// MarkOverdue moves unpaid invoices past their due date to OVERDUE (the
// leader's scheduled job). Each invoice is settled under its own lock, so a
// second runner or a payment at the same moment changes nothing twice. It
// returns how many became OVERDUE.
func (s *Service) MarkOverdue(ctx context.Context) (int, error) {
	today := s.today()
	n := 0
	for {
		ids, err := s.store.Overdue(ctx, today, 200)
		if err != nil {
			return n, fmt.Errorf("find overdue invoices: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		moved := 0
		for _, invoiceID := range ids {
			err := s.inTx(ctx, func(tx Tx) error {
				inv, err := tx.LockInvoice(invoiceID)
				if err != nil {
					return err
				}
				open, err := tx.OpenClaims(inv.ID)
				if err != nil {
					return err
				}
				before := inv.Status
				settle(&inv, open, today)
				if inv.Status == before {
					return nil
				}
				inv.UpdatedAt = s.opts.Now().UTC()
				if err := tx.UpdateInvoice(inv); err != nil {
					return err
				}
				moved++
				return tx.Enqueue(event(ctx, "billing.invoice.overdue", inv.PatientID, "invoice", inv.ID).With("from", before).Message())
			})
			if err != nil {
				return n, fmt.Errorf("mark invoice %d overdue: %w", invoiceID, err)
			}
		}
		n += moved
		if moved == 0 {
			return n, nil // what is left is not overdue after all (e.g. an open claim)
		}
	}
}
