package invoicing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/shopspring/decimal"

	"hospital/lib/apperr"
	"hospital/lib/billingapi"
)

// source is what another service invoices for: exactly one invoice each.
type source struct {
	kind, id string
}

// InvoiceForAppointment bills a completed appointment (spec flow F2): one
// CONSULTATION line for the amount the appointment service sends.
func (s *Service) InvoiceForAppointment(ctx context.Context, key string, in billingapi.InvoiceForAppointment) (Result[Invoice], error) {
	amount, err := parseMoney("amount", in.Amount, false)
	if err != nil {
		return Result[Invoice]{}, err
	}
	items := []InvoiceItem{{ItemType: ItemConsultation, Description: in.ServiceDescription, Quantity: M(decimal.NewFromInt(1)), UnitPrice: amount, TotalPrice: amount}}
	return s.fromSource(ctx, key, source{SourceAppointment, id(in.AppointmentID)}, in.PatientID, items, in)
}

// InvoiceForMedication bills a dispense (spec flow F6): a MEDICATION line
// per medication; each line total must be quantity × unit price.
func (s *Service) InvoiceForMedication(ctx context.Context, key string, in billingapi.InvoiceForMedication) (Result[Invoice], error) {
	items := make([]InvoiceItem, 0, len(in.Items))
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d].", i)
		unit, err := parseMoney(field+"unit_price", it.UnitPrice, false)
		if err != nil {
			return Result[Invoice]{}, err
		}
		total, err := parseMoney(field+"total_price", it.TotalPrice, false)
		if err != nil {
			return Result[Invoice]{}, err
		}
		qty := decimal.NewFromInt(it.Quantity)
		if want := unit.Mul(qty); !want.Equal(total.Decimal) || want.GreaterThan(maxAmount) {
			return Result[Invoice]{}, apperr.Field(field+"total_price", "Must equal quantity × unit_price ("+M(want).String()+").")
		}
		items = append(items, InvoiceItem{ItemType: ItemMedication, Description: it.MedicationName, Quantity: M(qty), UnitPrice: unit, TotalPrice: total})
	}
	return s.fromSource(ctx, key, source{SourceDispense, in.DispenseLogID}, in.PatientID, items, in)
}

// InvoiceForLabTest bills a lab order's tests (spec flow F10): a LAB_TEST
// line of quantity 1 per test.
func (s *Service) InvoiceForLabTest(ctx context.Context, key string, in billingapi.InvoiceForLabTest) (Result[Invoice], error) {
	items := make([]InvoiceItem, 0, len(in.Items))
	for i, it := range in.Items {
		price, err := parseMoney(fmt.Sprintf("items[%d].price", i), it.Price, false)
		if err != nil {
			return Result[Invoice]{}, err
		}
		items = append(items, InvoiceItem{ItemType: ItemLabTest, Description: it.TestName, Quantity: M(decimal.NewFromInt(1)), UnitPrice: price, TotalPrice: price})
	}
	return s.fromSource(ctx, key, source{SourceLabOrder, in.LabOrderID}, in.PatientID, items, in)
}

// errSourceRace: another request created the source's invoice while this one
// was deciding; a second pass finds it.
var errSourceRace = errors.New("source invoiced concurrently")

// fromSource creates the source's invoice once. A replay of the key answers
// the first answer; another key for an invoiced source answers its invoice
// (200); the database's unique key per source settles races.
func (s *Service) fromSource(ctx context.Context, key string, src source, patientID int64, items []InvoiceItem, body any) (Result[Invoice], error) {
	c, err := caller(ctx)
	if err != nil {
		return Result[Invoice]{}, err
	}
	scope := "svc:" + c.Service
	if key == "" {
		key = src.kind + ":" + src.id
	}
	fp := fingerprint(body)
	var out Result[Invoice]
	for attempt := 0; ; attempt++ {
		err = s.inTx(ctx, func(tx Tx) error {
			stored, err := tx.BeginKey(scope, key, fp)
			if err != nil {
				return err
			}
			if stored != nil {
				out.Status = stored.Status
				return json.Unmarshal(stored.Body, &out.Value)
			}
			// The first pass inserts straight away: looking first would
			// gap-lock the source's index, and concurrent creations would
			// deadlock on their inserts. A duplicate sends us round again,
			// rolled back (no invoice number is spent), to answer what exists.
			if attempt > 0 {
				existing, err := tx.InvoiceBySource(src.kind, src.id)
				if err == nil {
					if existing.PatientID != patientID {
						return apperr.Conflict("This " + src.kind + " is already invoiced to another patient.").WithCode("source_invoiced")
					}
					out = Result[Invoice]{existing, http.StatusOK}
					return finish(tx, scope, key, out)
				}
				if !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("find invoice of %s %s: %w", src.kind, src.id, err)
				}
			}
			inv, err := s.newInvoice(tx, patientID, items, Zero, Zero)
			if err != nil {
				return err
			}
			switch src.kind {
			case SourceAppointment:
				var n int64
				_, _ = fmt.Sscan(src.id, &n)
				inv.RelatedAppointmentID = &n
			case SourceDispense:
				inv.RelatedPrescriptionDispenseID = &src.id
			case SourceLabOrder:
				inv.RelatedLabOrderID = &src.id
			}
			if err := tx.InsertInvoice(&inv); errors.Is(err, ErrDuplicate) {
				return errSourceRace
			} else if err != nil {
				return fmt.Errorf("insert invoice of %s %s: %w", src.kind, src.id, err)
			}
			if err := tx.Enqueue(invoiceGenerated(inv), event(ctx, "billing.invoice.create", patientID, "invoice", inv.ID).
				With("source", src.kind).With("source_id", src.id).Message()); err != nil {
				return err
			}
			out = Result[Invoice]{inv, http.StatusCreated}
			return finish(tx, scope, key, out)
		})
		if errors.Is(err, errSourceRace) && attempt == 0 {
			continue
		}
		return out, err
	}
}

// finish stores the answer under the idempotency key.
func finish(tx Tx, scope, key string, r Result[Invoice]) error {
	body, err := json.Marshal(r.Value)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	return tx.FinishKey(scope, key, r.Status, body)
}

// newInvoice numbers and dates an invoice of items, PENDING_PATIENT (PAID
// when nothing is owed).
func (s *Service) newInvoice(tx Tx, patientID int64, items []InvoiceItem, tax, discount Money) (Invoice, error) {
	sub := Zero
	for _, it := range items {
		sub = sub.Add(it.TotalPrice)
	}
	total := sub.Add(tax).Sub(discount)
	if err := withinRange("items", sub, sub.Add(tax)); err != nil {
		return Invoice{}, err
	}
	if total.IsNegative() {
		return Invoice{}, apperr.Field("discount_amount", "The discount cannot exceed the sub-total plus tax.")
	}
	today := s.today()
	number, err := tx.NextInvoiceNumber(today.Year())
	if err != nil {
		return Invoice{}, fmt.Errorf("number invoice: %w", err)
	}
	now := s.opts.Now().UTC()
	inv := Invoice{
		PatientID: patientID, InvoiceNumber: number, IssueDate: today, DueDate: today.AddDays(s.opts.DueDays()),
		SubTotalAmount: sub, TaxAmount: tax, DiscountAmount: discount, TotalAmount: total,
		AmountPaidByPatient: Zero, AmountPaidByInsurance: Zero, Status: StatusPendingPatient,
		Items: items, Payments: []Payment{}, CreatedAt: now, UpdatedAt: now,
	}
	settle(&inv, 0, today)
	return inv, nil
}
