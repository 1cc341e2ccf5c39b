package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"hospital/svc/billing/invoicing"
)

const invoiceCols = `id, patient_id, invoice_number, issue_date, due_date, sub_total_amount, tax_amount, discount_amount,
	total_amount, amount_paid_by_patient, amount_paid_by_insurance, status, related_appointment_id,
	related_prescription_dispense_id, related_lab_order_id, status_reason, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanInvoice(r scanner) (invoicing.Invoice, error) {
	var (
		inv        invoicing.Invoice
		appt       sql.NullInt64
		disp, lab  sql.NullString
		issue, due sql.NullTime
	)
	err := r.Scan(&inv.ID, &inv.PatientID, &inv.InvoiceNumber, &issue, &due, &inv.SubTotalAmount, &inv.TaxAmount,
		&inv.DiscountAmount, &inv.TotalAmount, &inv.AmountPaidByPatient, &inv.AmountPaidByInsurance, &inv.Status,
		&appt, &disp, &lab, &inv.StatusReason, &inv.CreatedAt, &inv.UpdatedAt)
	if err != nil {
		return inv, err
	}
	inv.IssueDate, inv.DueDate = invoicing.DateOf(issue.Time), invoicing.DateOf(due.Time)
	if appt.Valid {
		inv.RelatedAppointmentID = &appt.Int64
	}
	if disp.Valid {
		inv.RelatedPrescriptionDispenseID = &disp.String
	}
	if lab.Valid {
		inv.RelatedLabOrderID = &lab.String
	}
	inv.AmountDue = inv.TotalAmount.Sub(inv.AmountPaidByPatient).Sub(inv.AmountPaidByInsurance)
	inv.Items, inv.Payments = []invoicing.InvoiceItem{}, []invoicing.Payment{}
	return inv, nil
}

// invoices reads the invoices of q with their items and payments.
func invoices(ctx context.Context, db querier, q string, args ...any) ([]invoicing.Invoice, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []invoicing.Invoice
	for rows.Next() {
		inv, err := scanInvoice(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, inv)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, details(ctx, db, out)
}

// details fills the items and payments of invs.
func details(ctx context.Context, db querier, invs []invoicing.Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	byID := make(map[int64]*invoicing.Invoice, len(invs))
	ids := make([]any, len(invs))
	for i := range invs {
		byID[invs[i].ID] = &invs[i]
		ids[i] = invs[i].ID
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	rows, err := db.QueryContext(ctx, `SELECT invoice_id, id, item_type, description, quantity, unit_price, total_price
		FROM invoice_items WHERE invoice_id IN `+in+` ORDER BY id`, ids...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			invID int64
			it    invoicing.InvoiceItem
		)
		if err := rows.Scan(&invID, &it.ID, &it.ItemType, &it.Description, &it.Quantity, &it.UnitPrice, &it.TotalPrice); err != nil {
			rows.Close()
			return err
		}
		byID[invID].Items = append(byID[invID].Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ps, err := payments(ctx, db, `WHERE invoice_id IN `+in+` ORDER BY id`, ids...)
	if err != nil {
		return err
	}
	for _, p := range ps {
		byID[*p.InvoiceID].Payments = append(byID[*p.InvoiceID].Payments, p)
	}
	return nil
}

func one(invs []invoicing.Invoice, err error) (invoicing.Invoice, error) {
	if err != nil {
		return invoicing.Invoice{}, err
	}
	if len(invs) == 0 {
		return invoicing.Invoice{}, invoicing.ErrNotFound
	}
	return invs[0], nil
}

// Invoice reads one invoice with its items and payments.
func (s *Store) Invoice(ctx context.Context, id int64) (invoicing.Invoice, error) {
	return one(invoices(ctx, s.db, `SELECT `+invoiceCols+` FROM invoices WHERE id = ?`, id))
}

// LockInvoice reads and locks one invoice.
func (t *Tx) LockInvoice(id int64) (invoicing.Invoice, error) {
	return one(invoices(t.ctx, t.tx, `SELECT `+invoiceCols+` FROM invoices WHERE id = ? FOR UPDATE`, id))
}

var sourceColumn = map[string]string{
	invoicing.SourceAppointment: "related_appointment_id",
	invoicing.SourceDispense:    "related_prescription_dispense_id",
	invoicing.SourceLabOrder:    "related_lab_order_id",
}

// InvoiceBySource reads (a locking read: the latest committed row) the
// invoice of a source.
func (t *Tx) InvoiceBySource(kind, id string) (invoicing.Invoice, error) {
	col, ok := sourceColumn[kind]
	if !ok {
		return invoicing.Invoice{}, fmt.Errorf("unknown source %q", kind)
	}
	return one(invoices(t.ctx, t.tx, `SELECT `+invoiceCols+` FROM invoices WHERE `+col+` = ? FOR UPDATE`, id))
}

// InsertInvoice stores inv and its items.
func (t *Tx) InsertInvoice(inv *invoicing.Invoice) error {
	res, err := t.exec(`INSERT INTO invoices (patient_id, invoice_number, issue_date, due_date, sub_total_amount, tax_amount,
		discount_amount, total_amount, amount_paid_by_patient, amount_paid_by_insurance, status, related_appointment_id,
		related_prescription_dispense_id, related_lab_order_id, status_reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inv.PatientID, inv.InvoiceNumber, inv.IssueDate.Time, inv.DueDate.Time, inv.SubTotalAmount, inv.TaxAmount,
		inv.DiscountAmount, inv.TotalAmount, inv.AmountPaidByPatient, inv.AmountPaidByInsurance, inv.Status,
		inv.RelatedAppointmentID, inv.RelatedPrescriptionDispenseID, inv.RelatedLabOrderID, inv.StatusReason,
		inv.CreatedAt, inv.UpdatedAt)
	if err != nil {
		return duplicate(err)
	}
	if inv.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if len(inv.Items) == 0 {
		return nil
	}
	var (
		sb   strings.Builder
		args []any
	)
	for _, it := range inv.Items {
		sb.WriteString("(?, ?, ?, ?, ?, ?),")
		args = append(args, inv.ID, it.ItemType, it.Description, it.Quantity, it.UnitPrice, it.TotalPrice)
	}
	res, err = t.exec(`INSERT INTO invoice_items (invoice_id, item_type, description, quantity, unit_price, total_price) VALUES `+
		strings.TrimSuffix(sb.String(), ","), args...)
	if err != nil {
		return err
	}
	// A multi-row insert numbers its rows consecutively from the first id.
	first, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for i := range inv.Items {
		inv.Items[i].ID = first + int64(i)
	}
	return nil
}

// UpdateInvoice writes the invoice's amounts, status and dates.
func (t *Tx) UpdateInvoice(inv invoicing.Invoice) error {
	_, err := t.exec(`UPDATE invoices SET issue_date = ?, due_date = ?, tax_amount = ?, discount_amount = ?, total_amount = ?,
		amount_paid_by_patient = ?, amount_paid_by_insurance = ?, status = ?, status_reason = ?, updated_at = ? WHERE id = ?`,
		inv.IssueDate.Time, inv.DueDate.Time, inv.TaxAmount, inv.DiscountAmount, inv.TotalAmount, inv.AmountPaidByPatient,
		inv.AmountPaidByInsurance, inv.Status, inv.StatusReason, inv.UpdatedAt, inv.ID)
	return err
}

// invoiceOrder are the columns the admin list sorts by.
var invoiceOrder = map[string]string{
	"issue_date": "issue_date", "due_date": "due_date", "total_amount": "total_amount",
	"status": "status", "invoice_number": "invoice_number", "id": "id", "patient_id": "patient_id",
}

// Invoices lists invoices matching f, one page, with the total count.
func (s *Store) Invoices(ctx context.Context, f invoicing.InvoiceFilter, p invoicing.Page) ([]invoicing.Invoice, int, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Statuses)), ",")+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.PatientID != nil {
		where = append(where, "patient_id = ?")
		args = append(args, *f.PatientID)
	}
	if f.From != nil {
		where = append(where, "issue_date >= ?")
		args = append(args, f.From.Time)
	}
	if f.To != nil {
		where = append(where, "issue_date <= ?")
		args = append(args, f.To.Time)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM invoices`+cond, args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	order := "issue_date DESC, id DESC"
	if col, ok := invoiceOrder[strings.TrimPrefix(f.Ordering, "-")]; ok {
		dir := "ASC"
		if strings.HasPrefix(f.Ordering, "-") {
			dir = "DESC"
		}
		order = col + " " + dir + ", id " + dir
	}
	out, err := invoices(ctx, s.db, `SELECT `+invoiceCols+` FROM invoices`+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, p.Limit, p.Offset)...)
	return out, n, err
}

// Overdue returns unpaid issued invoices due before today.
func (s *Store) Overdue(ctx context.Context, today invoicing.Date, limit int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM invoices WHERE status IN ('PENDING_PATIENT', 'PARTIALLY_PAID')
		AND due_date < ? ORDER BY id LIMIT ?`, today.Time, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Reserved is what PENDING payments and open claims hold on the invoice.
// Plain reads, not locking ones: every writer of an invoice's payments and
// claims holds the invoice's lock first, and the caller's snapshot is taken
// after it got that lock (LockInvoice's own reads), so it sees them all.
// Share-locking these ranges made concurrent payments on different
// invoices deadlock on each other's index gaps.
func (t *Tx) Reserved(invoiceID int64) (invoicing.Money, error) {
	var pending, claimed invoicing.Money
	err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(SUM(amount), 0) FROM payments
		WHERE invoice_id = ? AND status = 'PENDING'`, invoiceID).Scan(&pending)
	if err != nil {
		return pending, err
	}
	err = t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(SUM(CASE WHEN status IN ('APPROVED', 'PARTIALLY_APPROVED')
		THEN approved_amount ELSE claim_amount END), 0) FROM insurance_claims WHERE invoice_id = ?
		AND status IN ('SUBMITTED', 'PROCESSING', 'AWAITING_DOCUMENTS', 'APPROVED', 'PARTIALLY_APPROVED')`,
		invoiceID).Scan(&claimed)
	return pending.Add(claimed), err
}

// OpenClaims counts the invoice's claims still waiting for the insurer's
// money (a plain read, as Reserved).
func (t *Tx) OpenClaims(invoiceID int64) (int, error) {
	var n int
	err := t.tx.QueryRowContext(t.ctx, `SELECT COUNT(*) FROM insurance_claims WHERE invoice_id = ?
		AND status IN ('SUBMITTED', 'PROCESSING', 'AWAITING_DOCUMENTS', 'APPROVED', 'PARTIALLY_APPROVED')`,
		invoiceID).Scan(&n)
	return n, err
}
