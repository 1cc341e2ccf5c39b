package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"hospital/svc/billing/invoicing"
)

const policyCols = `id, patient_id, insurance_provider_id, provider_name, policy_number, member_id, valid_from, valid_to,
	coverage_details_json, is_active, created_at`

func scanPolicy(r scanner) (invoicing.InsurancePolicy, error) {
	var (
		p        invoicing.InsurancePolicy
		provider sql.NullInt64
		from, to time.Time
		coverage []byte
	)
	err := r.Scan(&p.ID, &p.PatientID, &provider, &p.ProviderName, &p.PolicyNumber, &p.MemberID, &from, &to, &coverage, &p.IsActive, &p.CreatedAt)
	if provider.Valid {
		p.InsuranceProviderID = &provider.Int64
	}
	p.ValidFrom, p.ValidTo, p.CoverageDetailsJSON = invoicing.DateOf(from), invoicing.DateOf(to), invoicing.JSONObject(coverage)
	return p, err
}

// InsertPolicy stores p; ErrDuplicate when its policy number is taken.
func (t *Tx) InsertPolicy(p *invoicing.InsurancePolicy) error {
	res, err := t.exec(`INSERT INTO insurance_policies (patient_id, insurance_provider_id, provider_name, policy_number, member_id,
		valid_from, valid_to, coverage_details_json, is_active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.PatientID, p.InsuranceProviderID, p.ProviderName, p.PolicyNumber, p.MemberID, p.ValidFrom.Time, p.ValidTo.Time,
		string(p.CoverageDetailsJSON), p.IsActive, p.CreatedAt)
	if err != nil {
		return duplicate(err)
	}
	p.ID, err = res.LastInsertId()
	return err
}

// Policy reads one policy.
func (t *Tx) Policy(id int64) (invoicing.InsurancePolicy, error) {
	p, err := scanPolicy(t.tx.QueryRowContext(t.ctx, `SELECT `+policyCols+` FROM insurance_policies WHERE id = ?`, id))
	return p, notFound(err)
}

// Policies lists a patient's policies, newest first.
func (s *Store) Policies(ctx context.Context, patientID int64, p invoicing.Page) ([]invoicing.InsurancePolicy, int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM insurance_policies WHERE patient_id = ?`, patientID).Scan(&n); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+policyCols+` FROM insurance_policies WHERE patient_id = ?
		ORDER BY id DESC LIMIT ? OFFSET ?`, patientID, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []invoicing.InsurancePolicy
	for rows.Next() {
		pol, err := scanPolicy(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, pol)
	}
	return out, n, rows.Err()
}

const claimCols = `c.id, c.invoice_id, c.insurance_policy_id, c.submission_date, c.claim_amount, c.approved_amount,
	c.rejected_amount, c.status, c.insurer_notes, c.hospital_notes, c.updated_at`

const claimFrom = ` FROM insurance_claims c JOIN invoices i ON i.id = c.invoice_id JOIN insurance_policies p ON p.id = c.insurance_policy_id`

func scanClaim(r scanner, extra ...any) (invoicing.InsuranceClaim, error) {
	var (
		c                  invoicing.InsuranceClaim
		sub                time.Time
		approved, rejected invoicing.Money
		hasA, hasR         sql.NullString
	)
	err := r.Scan(append([]any{&c.ID, &c.InvoiceID, &c.InsurancePolicyID, &sub, &c.ClaimAmount, &hasA, &hasR, &c.Status,
		&c.InsurerNotes, &c.HospitalNotes, &c.UpdatedAt}, extra...)...)
	if err != nil {
		return c, err
	}
	c.SubmissionDate = invoicing.DateOf(sub)
	if hasA.Valid {
		if err := approved.Scan(hasA.String); err != nil {
			return c, err
		}
		c.ApprovedAmount = &approved
	}
	if hasR.Valid {
		if err := rejected.Scan(hasR.String); err != nil {
			return c, err
		}
		c.RejectedAmount = &rejected
	}
	return c, nil
}

func openSlot(c invoicing.InsuranceClaim) any {
	if !invoicing.ClaimIsOpen(c.Status) {
		return nil
	}
	return strconv.FormatInt(c.InvoiceID, 10) + ":" + strconv.FormatInt(c.InsurancePolicyID, 10)
}

// InsertClaim stores c; ErrDuplicate when the invoice and policy have an
// open claim.
func (t *Tx) InsertClaim(c *invoicing.InsuranceClaim) error {
	res, err := t.exec(`INSERT INTO insurance_claims (invoice_id, insurance_policy_id, submission_date, claim_amount,
		approved_amount, rejected_amount, status, insurer_notes, hospital_notes, open_slot, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.InvoiceID, c.InsurancePolicyID, c.SubmissionDate.Time, c.ClaimAmount, money(c.ApprovedAmount), money(c.RejectedAmount),
		c.Status, c.InsurerNotes, c.HospitalNotes, openSlot(*c), c.UpdatedAt)
	if err != nil {
		return duplicate(err)
	}
	c.ID, err = res.LastInsertId()
	return err
}

func money(m *invoicing.Money) any {
	if m == nil {
		return nil
	}
	return m.String()
}

// LockClaim reads and locks one claim (its row only; PatientID and
// InvoiceNumber are left for the caller, who holds the invoice).
func (t *Tx) LockClaim(id int64) (invoicing.InsuranceClaim, error) {
	c, err := scanClaim(t.tx.QueryRowContext(t.ctx, `SELECT `+claimCols+` FROM insurance_claims c WHERE c.id = ? FOR UPDATE`, id))
	return c, notFound(err)
}

// ClaimInvoiceID is the invoice a claim is on.
func (s *Store) ClaimInvoiceID(ctx context.Context, claimID int64) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT invoice_id FROM insurance_claims WHERE id = ?`, claimID).Scan(&id)
	return id, notFound(err)
}

// UpdateClaim writes the claim's status, amounts and notes.
func (t *Tx) UpdateClaim(c invoicing.InsuranceClaim) error {
	_, err := t.exec(`UPDATE insurance_claims SET status = ?, approved_amount = ?, rejected_amount = ?, insurer_notes = ?,
		hospital_notes = ?, open_slot = ?, updated_at = ? WHERE id = ?`,
		c.Status, money(c.ApprovedAmount), money(c.RejectedAmount), c.InsurerNotes, c.HospitalNotes, openSlot(c), c.UpdatedAt, c.ID)
	return duplicate(err)
}

// ClaimEvent records a status change.
func (t *Tx) ClaimEvent(claimID int64, from, to string, actor int64, role string) (int64, error) {
	res, err := t.exec(`INSERT INTO insurance_claim_events (claim_id, from_status, to_status, actor_user_id, actor_role, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, claimID, from, to, actor, role, time.Now().UTC())
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// Claims lists claims matching f, newest first.
func (s *Store) Claims(ctx context.Context, f invoicing.ClaimFilter, p invoicing.Page) ([]invoicing.InsuranceClaim, int, error) {
	var (
		where []string
		args  []any
	)
	if len(f.Statuses) > 0 {
		where = append(where, "c.status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Statuses)), ",")+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.ProviderID != nil {
		where = append(where, "p.insurance_provider_id = ?")
		args = append(args, *f.ProviderID)
	}
	if f.PatientID != nil {
		where = append(where, "i.patient_id = ?")
		args = append(args, *f.PatientID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*)`+claimFrom+cond, args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+claimCols+`, i.patient_id, i.invoice_number`+claimFrom+cond+` ORDER BY c.id DESC LIMIT ? OFFSET ?`,
		append(args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []invoicing.InsuranceClaim
	for rows.Next() {
		var c invoicing.InsuranceClaim
		var patientID int64
		var number string
		c, err := scanClaim(rows, &patientID, &number)
		c.PatientID, c.InvoiceNumber = patientID, number
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, n, rows.Err()
}

// ProviderHasClaim reports whether the provider has a claim on the invoice.
func (s *Store) ProviderHasClaim(ctx context.Context, providerID, invoiceID int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM insurance_claims c JOIN insurance_policies p
		ON p.id = c.insurance_policy_id WHERE c.invoice_id = ? AND p.insurance_provider_id = ?`, invoiceID, providerID).Scan(&n)
	return n > 0, err
}
