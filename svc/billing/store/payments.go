package store

import (
	"context"
	"database/sql"
	"time"

	"hospital/svc/billing/invoicing"
)

const paymentCols = `id, invoice_id, patient_id, payment_date, amount, payment_method, transaction_id, status, notes`

func scanPayment(r scanner, extra ...any) (invoicing.Payment, error) {
	var (
		p   invoicing.Payment
		inv sql.NullInt64
		tx  sql.NullString
	)
	err := r.Scan(append([]any{&p.ID, &inv, &p.PatientID, &p.PaymentDate, &p.Amount, &p.PaymentMethod, &tx, &p.Status, &p.Notes}, extra...)...)
	if inv.Valid {
		p.InvoiceID = &inv.Int64
	}
	if tx.Valid {
		p.TransactionID = &tx.String
	}
	return p, err
}

func payments(ctx context.Context, db querier, tail string, args ...any) ([]invoicing.Payment, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+paymentCols+` FROM payments `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []invoicing.Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// InsertPayment stores p (and a card payment's attempt).
func (t *Tx) InsertPayment(p *invoicing.Payment, a *invoicing.CardAttempt) error {
	var token, scope, key any
	if a != nil {
		token, scope, key = a.Token, a.Scope, a.Key
	}
	res, err := t.exec(`INSERT INTO payments (invoice_id, patient_id, payment_date, amount, payment_method, transaction_id,
		status, notes, gateway_token, idem_scope, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.InvoiceID, p.PatientID, p.PaymentDate, p.Amount, p.PaymentMethod, p.TransactionID, p.Status, p.Notes, token, scope, key)
	if err != nil {
		return err
	}
	p.ID, err = res.LastInsertId()
	return err
}

// LockPayment reads and locks one payment.
func (t *Tx) LockPayment(id int64) (invoicing.Payment, error) {
	p, err := scanPayment(t.tx.QueryRowContext(t.ctx, `SELECT `+paymentCols+` FROM payments WHERE id = ? FOR UPDATE`, id))
	return p, notFound(err)
}

// UpdatePayment writes the payment's outcome; a settled payment forgets
// its gateway token.
func (t *Tx) UpdatePayment(p invoicing.Payment) error {
	_, err := t.exec(`UPDATE payments SET status = ?, transaction_id = ?, notes = ?,
		gateway_token = IF(? = 'PENDING', gateway_token, NULL) WHERE id = ?`, p.Status, p.TransactionID, p.Notes, p.Status, p.ID)
	return err
}

// PendingCardPayments are card payments still PENDING made before.
func (s *Store) PendingCardPayments(ctx context.Context, before time.Time, limit int) ([]invoicing.PendingCard, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+paymentCols+`, gateway_token, idem_scope, idem_key FROM payments
		WHERE status = 'PENDING' AND payment_method = 'CREDIT_CARD' AND payment_date < ? ORDER BY id LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []invoicing.PendingCard
	for rows.Next() {
		var pc invoicing.PendingCard
		var token, scope, key sql.NullString
		if pc.Payment, err = scanPayment(rows, &token, &scope, &key); err != nil {
			return nil, err
		}
		pc.Token, pc.Scope, pc.Key = token.String, scope.String, key.String
		out = append(out, pc)
	}
	return out, rows.Err()
}
