package invoicing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/dates"
	"hospital/lib/userapi"
)

// Invoice is one invoice with its items and payments: its patient, ADMIN,
// or an insurance provider with a claim on it.
func (s *Service) Invoice(ctx context.Context, invoiceID int64) (Invoice, error) {
	c, err := caller(ctx)
	if err != nil {
		return Invoice{}, err
	}
	inv, err := s.store.Invoice(ctx, invoiceID)
	if err != nil {
		return Invoice{}, notFound(err, "invoice", invoiceID)
	}
	if c.Role == auth.RoleInsuranceProvider {
		ok, err := s.store.ProviderHasClaim(ctx, c.UserID, invoiceID)
		if err != nil {
			return Invoice{}, fmt.Errorf("check claims on invoice %d: %w", invoiceID, err)
		}
		if !ok {
			return Invoice{}, errNotYours
		}
	} else if err := mustOwn(c, inv.PatientID); err != nil {
		return Invoice{}, err
	}
	return inv, s.record(ctx, event(ctx, "billing.invoice.read", inv.PatientID, "invoice", inv.ID).Message())
}

// PatientInvoices lists a patient's invoices: that patient or ADMIN.
func (s *Service) PatientInvoices(ctx context.Context, patientID int64, f InvoiceFilter, p Page) ([]Invoice, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := mustOwn(c, patientID); err != nil {
		return nil, 0, err
	}
	f.PatientID = &patientID
	out, n, err := s.store.Invoices(ctx, f, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list invoices of patient %d: %w", patientID, err)
	}
	return out, n, s.record(ctx, event(ctx, "billing.invoice.list", patientID, "patient", patientID).Message())
}

// AdminInvoices lists every invoice, filtered and sorted (ADMIN).
func (s *Service) AdminInvoices(ctx context.Context, f InvoiceFilter, p Page) ([]Invoice, int, error) {
	out, n, err := s.store.Invoices(ctx, f, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list invoices: %w", err)
	}
	ev := event(ctx, "billing.invoice.list", 0, "invoice", 0).With("count", len(out))
	if f.PatientID != nil {
		ev = ev.OnPatient(*f.PatientID)
	}
	return out, n, s.record(ctx, ev.Message())
}

// CreateInvoice makes an invoice by hand (ADMIN): the lines' totals and the
// invoice's are computed here. A draft is not sent to the patient until
// issued.
func (s *Service) CreateInvoice(ctx context.Context, in CreateInvoiceRequest) (Invoice, error) {
	items := make([]InvoiceItem, 0, len(in.Items))
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d].", i)
		unit, err := parseMoney(field+"unit_price", it.UnitPrice, false)
		if err != nil {
			return Invoice{}, err
		}
		qty := M(decimal.NewFromInt(1))
		if it.Quantity != "" {
			if qty, err = parseMoney(field+"quantity", it.Quantity, true); err != nil {
				return Invoice{}, err
			}
			if qty.GreaterThan(maxQuantity) {
				return Invoice{}, apperr.Field(field+"quantity", "Ensure this value is less than or equal to "+maxQuantity.String()+".")
			}
		}
		line := M(unit.Mul(qty.Decimal))
		if err := withinRange(field+"unit_price", line); err != nil {
			return Invoice{}, err
		}
		items = append(items, InvoiceItem{ItemType: it.ItemType, Description: it.Description, Quantity: qty, UnitPrice: unit, TotalPrice: line})
	}
	tax, discount := Zero, Zero
	var err error
	if in.TaxAmount != "" {
		if tax, err = parseMoney("tax_amount", in.TaxAmount, false); err != nil {
			return Invoice{}, err
		}
	}
	if in.Discount != "" {
		if discount, err = parseMoney("discount_amount", in.Discount, false); err != nil {
			return Invoice{}, err
		}
	}
	var due *Date
	if in.DueDate != "" {
		d, err := s.parseDay("due_date", in.DueDate)
		if err != nil {
			return Invoice{}, err
		}
		if d.Before(s.today()) {
			return Invoice{}, apperr.Field("due_date", "The due date cannot be before the issue date.")
		}
		due = &d
	}
	if err := s.mustBePatient(ctx, "patient_id", in.PatientID); err != nil {
		return Invoice{}, err
	}
	var inv Invoice
	err = s.inTx(ctx, func(tx Tx) error {
		var err error
		if inv, err = s.newInvoice(tx, in.PatientID, items, tax, discount); err != nil {
			return err
		}
		if due != nil {
			inv.DueDate = *due
		}
		inv.StatusReason = in.Reason
		if in.Draft {
			inv.Status = StatusDraft
		}
		settle(&inv, 0, s.today())
		if err := tx.InsertInvoice(&inv); err != nil {
			return fmt.Errorf("insert invoice: %w", err)
		}
		if err := tx.Enqueue(event(ctx, "billing.invoice.create", inv.PatientID, "invoice", inv.ID).With("draft", in.Draft).Message()); err != nil {
			return err
		}
		if !in.Draft {
			return tx.Enqueue(invoiceGenerated(inv))
		}
		return nil
	})
	return inv, err
}

// mustBePatient checks with the user service that id is an active patient.
func (s *Service) mustBePatient(ctx context.Context, field string, id int64) error {
	return s.mustHaveRole(ctx, field, id, auth.RolePatient)
}

func (s *Service) mustHaveRole(ctx context.Context, field string, id int64, role string) error {
	u, err := s.users.User(ctx, id)
	if errors.Is(err, userapi.ErrNotFound) {
		return apperr.Field(field, "No such user.")
	}
	if err != nil {
		return err
	}
	if u.Role != role || !u.IsActive {
		return apperr.Field(field, "The user is not an active "+strings.ToLower(strings.ReplaceAll(role, "_", " "))+".")
	}
	return nil
}

// parseDay reads a YYYY-MM-DD field within the years the platform accepts.
func (s *Service) parseDay(field, v string) (Date, error) {
	d, err := dates.Parse(v, time.UTC)
	if err != nil {
		return Date{}, apperr.Field(field, err.Error())
	}
	return DateOf(d), nil
}

// UpdateInvoice applies an ADMIN's changes in one transaction, in this
// order: issue a draft, discount and tax, due date, a manual payment, then
// cancel or write off. A refund goes alone (it calls the gateway first). A
// payment or refund needs an Idempotency-Key; a replay answers the first
// answer.
func (s *Service) UpdateInvoice(ctx context.Context, invoiceID int64, key string, in AdminInvoiceUpdate) (Invoice, error) {
	c, err := caller(ctx)
	if err != nil {
		return Invoice{}, err
	}
	if in.DiscountAmount == nil && in.TaxAmount == nil && in.DueDate == nil && in.Status == nil && in.Payment == nil && in.Refund == nil {
		return Invoice{}, errNothingToDo
	}
	if (in.Payment != nil || in.Refund != nil) && key == "" {
		return Invoice{}, errKeyRequired
	}
	if in.Refund != nil {
		if in.DiscountAmount != nil || in.TaxAmount != nil || in.DueDate != nil || in.Status != nil || in.Payment != nil {
			return Invoice{}, apperr.Field("refund", "A refund is made on its own, without other changes.")
		}
		return s.refund(ctx, c, invoiceID, key, in)
	}
	ch, err := s.parseChanges(in)
	if err != nil {
		return Invoice{}, err
	}
	scope := "admin:" + id(c.UserID)
	fp := fingerprint(invoiceID, in)
	var out Invoice
	err = s.inTx(ctx, func(tx Tx) error {
		if key != "" {
			stored, err := tx.BeginKey(scope, key, fp)
			if err != nil {
				return err
			}
			if stored != nil {
				return json.Unmarshal(stored.Body, &out)
			}
		}
		inv, err := tx.LockInvoice(invoiceID)
		if err != nil {
			return notFound(err, "invoice", invoiceID)
		}
		if err := s.applyChanges(ctx, tx, &inv, ch, in); err != nil {
			return err
		}
		out = inv
		if key == "" {
			return nil
		}
		body, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		return tx.FinishKey(scope, key, http.StatusOK, body)
	})
	return out, err
}
