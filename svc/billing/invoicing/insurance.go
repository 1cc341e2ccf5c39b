package invoicing

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"hospital/lib/apperr"
	"hospital/lib/auth"
)

// Claim statuses (spec choices).
const (
	ClaimSubmitted         = "SUBMITTED"
	ClaimProcessing        = "PROCESSING"
	ClaimAwaitingDocuments = "AWAITING_DOCUMENTS"
	ClaimApproved          = "APPROVED"
	ClaimPartiallyApproved = "PARTIALLY_APPROVED"
	ClaimRejected          = "REJECTED"
	ClaimPaidByInsurer     = "PAID_BY_INSURER"
	ClaimClosed            = "CLOSED"
)

// claimMoves is the claim state machine (README): from each status, where
// a claim may go next.
var claimMoves = map[string][]string{
	ClaimSubmitted:         {ClaimProcessing, ClaimRejected, ClaimClosed},
	ClaimProcessing:        {ClaimAwaitingDocuments, ClaimApproved, ClaimPartiallyApproved, ClaimRejected},
	ClaimAwaitingDocuments: {ClaimProcessing, ClaimRejected, ClaimClosed},
	ClaimApproved:          {ClaimPaidByInsurer},
	ClaimPartiallyApproved: {ClaimPaidByInsurer},
	ClaimRejected:          {ClaimClosed},
	ClaimPaidByInsurer:     {ClaimClosed},
}

// providerMoves are the statuses an insurance provider may set; ADMIN may
// make every move (recording what an insurer without an API decided, and
// closing).
var providerMoves = []string{ClaimProcessing, ClaimAwaitingDocuments, ClaimApproved, ClaimPartiallyApproved, ClaimRejected, ClaimPaidByInsurer}

// PendingClaimStatuses are those awaiting the provider.
var PendingClaimStatuses = []string{ClaimSubmitted, ClaimProcessing, ClaimAwaitingDocuments}

// ClaimIsOpen: an open claim holds its amount on the invoice and blocks a
// second claim for the same invoice and policy.
func ClaimIsOpen(status string) bool { return status != ClaimRejected && status != ClaimClosed }

// AddPolicy records a patient's insurance policy: that patient or ADMIN.
// The provider, when named, must be an insurance provider user.
func (s *Service) AddPolicy(ctx context.Context, patientID int64, in PolicyRequest) (InsurancePolicy, error) {
	c, err := caller(ctx)
	if err != nil {
		return InsurancePolicy{}, err
	}
	if err := mustOwn(c, patientID); err != nil {
		return InsurancePolicy{}, err
	}
	from, err := s.parseDay("valid_from", in.ValidFrom)
	if err != nil {
		return InsurancePolicy{}, err
	}
	to, err := s.parseDay("valid_to", in.ValidTo)
	if err != nil {
		return InsurancePolicy{}, err
	}
	if !from.Before(to) {
		return InsurancePolicy{}, apperr.Field("valid_to", "valid_to must be after valid_from.")
	}
	if c.Role == auth.RoleAdmin {
		if err := s.mustBePatient(ctx, "patient_id", patientID); err != nil {
			return InsurancePolicy{}, apperr.NotFound("No such patient.")
		}
	}
	if in.InsuranceProviderID != nil {
		if err := s.mustHaveRole(ctx, "insurance_provider_id", *in.InsuranceProviderID, auth.RoleInsuranceProvider); err != nil {
			return InsurancePolicy{}, err
		}
	}
	p := InsurancePolicy{PatientID: patientID, InsuranceProviderID: in.InsuranceProviderID, ProviderName: in.ProviderName,
		PolicyNumber: in.PolicyNumber, MemberID: in.MemberID, ValidFrom: from, ValidTo: to,
		CoverageDetailsJSON: in.CoverageDetailsJSON, IsActive: in.IsActive == nil || *in.IsActive, CreatedAt: s.opts.Now().UTC()}
	if len(p.CoverageDetailsJSON) == 0 {
		p.CoverageDetailsJSON = JSONObject("{}")
	}
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.InsertPolicy(&p); errors.Is(err, ErrDuplicate) {
			return errDuplicatePolicy
		} else if err != nil {
			return fmt.Errorf("insert policy: %w", err)
		}
		return tx.Enqueue(event(ctx, "billing.policy.create", patientID, "insurance_policy", p.ID).Message())
	})
	return p, err
}

// Policies lists a patient's policies: that patient or ADMIN.
func (s *Service) Policies(ctx context.Context, patientID int64, p Page) ([]InsurancePolicy, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := mustOwn(c, patientID); err != nil {
		return nil, 0, err
	}
	out, n, err := s.store.Policies(ctx, patientID, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list policies of patient %d: %w", patientID, err)
	}
	return out, n, s.record(ctx, event(ctx, "billing.policy.list", patientID, "patient", patientID).Message())
}

// CreateClaim claims part of an invoice from a policy: ADMIN, or the
// invoice's patient. The policy must be the invoice's patient's, active and
// valid on the issue date; the amount at most what is still payable; one
// open claim per invoice and policy.
func (s *Service) CreateClaim(ctx context.Context, invoiceID int64, in ClaimRequest) (InsuranceClaim, error) {
	c, err := caller(ctx)
	if err != nil {
		return InsuranceClaim{}, err
	}
	amount, err := parseMoney("claim_amount", in.ClaimAmount, true)
	if err != nil {
		return InsuranceClaim{}, err
	}
	var cl InsuranceClaim
	err = s.inTx(ctx, func(tx Tx) error {
		inv, err := tx.LockInvoice(invoiceID)
		if err != nil {
			return notFound(err, "invoice", invoiceID)
		}
		if err := mustOwn(c, inv.PatientID); err != nil {
			return err
		}
		if !payable(inv.Status) {
			return errNotPayable
		}
		pol, err := tx.Policy(in.InsurancePolicyID)
		if errors.Is(err, ErrNotFound) || (err == nil && pol.PatientID != inv.PatientID) {
			return apperr.Field("insurance_policy_id", "No such policy of this invoice's patient.")
		} else if err != nil {
			return fmt.Errorf("load policy %d: %w", in.InsurancePolicyID, err)
		}
		if !pol.IsActive || inv.IssueDate.Before(pol.ValidFrom) || pol.ValidTo.Before(inv.IssueDate) {
			return apperr.Field("insurance_policy_id", "The policy is not active or not valid on the invoice's issue date.")
		}
		reserved, err := tx.Reserved(inv.ID)
		if err != nil {
			return err
		}
		if left := available(inv, reserved); amount.GreaterThan(left.Decimal) {
			return overpay(left)
		}
		cl = InsuranceClaim{InvoiceID: inv.ID, InsurancePolicyID: pol.ID, SubmissionDate: s.today(), ClaimAmount: amount,
			Status: ClaimSubmitted, HospitalNotes: in.HospitalNotes, PatientID: inv.PatientID, InvoiceNumber: inv.InvoiceNumber,
			UpdatedAt: s.opts.Now().UTC()}
		if err := tx.InsertClaim(&cl); errors.Is(err, ErrDuplicate) {
			return errOpenClaim
		} else if err != nil {
			return fmt.Errorf("insert claim: %w", err)
		}
		return s.afterClaimChange(ctx, tx, &inv, cl, "", c)
	})
	return cl, err
}

// afterClaimChange settles the invoice and records the change: history,
// the patient's notification, audit.
func (s *Service) afterClaimChange(ctx context.Context, tx Tx, inv *Invoice, cl InsuranceClaim, from string, c auth.Identity) error {
	open, err := tx.OpenClaims(inv.ID)
	if err != nil {
		return fmt.Errorf("open claims on invoice %d: %w", inv.ID, err)
	}
	before := inv.Status
	settle(inv, open, s.today())
	if inv.Status != before || cl.Status == ClaimPaidByInsurer {
		inv.UpdatedAt = s.opts.Now().UTC()
		if err := tx.UpdateInvoice(*inv); err != nil {
			return fmt.Errorf("update invoice %d: %w", inv.ID, err)
		}
	}
	evID, err := tx.ClaimEvent(cl.ID, from, cl.Status, c.UserID, c.Role)
	if err != nil {
		return fmt.Errorf("record claim %d change: %w", cl.ID, err)
	}
	return tx.Enqueue(claimStatusUpdated(evID, cl),
		event(ctx, "billing.claim.status", inv.PatientID, "insurance_claim", cl.ID).With("from", from).With("to", cl.Status).Message())
}

// ProviderPendingClaims lists the claims awaiting the calling insurance
// provider: those on its own policies only.
func (s *Service) ProviderPendingClaims(ctx context.Context, p Page) ([]InsuranceClaim, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	out, n, err := s.store.Claims(ctx, ClaimFilter{Statuses: PendingClaimStatuses, ProviderID: &c.UserID}, p)
	if err != nil {
		return nil, 0, fmt.Errorf("pending claims of provider %d: %w", c.UserID, err)
	}
	return out, n, s.record(ctx, event(ctx, "billing.claim.list", 0, "insurance_provider", c.UserID).With("count", len(out)).Message())
}

// AdminClaims lists claims (ADMIN).
func (s *Service) AdminClaims(ctx context.Context, f ClaimFilter, p Page) ([]InsuranceClaim, int, error) {
	out, n, err := s.store.Claims(ctx, f, p)
	if err != nil {
		return nil, 0, fmt.Errorf("list claims: %w", err)
	}
	return out, n, s.record(ctx, event(ctx, "billing.claim.list", 0, "insurance_claim", 0).With("count", len(out)).Message())
}

// UpdateClaim moves a claim along the machine: ADMIN any move, an
// insurance provider (asProvider) the insurer's moves on its own claims
// only. A decision records approved and rejected amounts that add up to the
// claim; PAID_BY_INSURER records the payout on the invoice.
func (s *Service) UpdateClaim(ctx context.Context, claimID int64, in ClaimUpdate, asProvider bool) (InsuranceClaim, error) {
	c, err := caller(ctx)
	if err != nil {
		return InsuranceClaim{}, err
	}
	if asProvider && in.HospitalNotes != nil {
		return InsuranceClaim{}, apperr.Field("hospital_notes", "Only the hospital writes hospital notes.")
	}
	invoiceID, err := s.store.ClaimInvoiceID(ctx, claimID)
	if err != nil {
		return InsuranceClaim{}, notFound(err, "claim", claimID)
	}
	var out InsuranceClaim
	err = s.inTx(ctx, func(tx Tx) error {
		// Invoice first, then claim: the order every writer takes.
		inv, err := tx.LockInvoice(invoiceID)
		if err != nil {
			return fmt.Errorf("load invoice %d: %w", invoiceID, err)
		}
		cl, err := tx.LockClaim(claimID)
		if err != nil {
			return err
		}
		cl.PatientID, cl.InvoiceNumber = inv.PatientID, inv.InvoiceNumber
		if asProvider {
			pol, err := tx.Policy(cl.InsurancePolicyID)
			if err != nil {
				return fmt.Errorf("load policy %d: %w", cl.InsurancePolicyID, err)
			}
			if pol.InsuranceProviderID == nil || *pol.InsuranceProviderID != c.UserID {
				return errNotYours
			}
			if !slices.Contains(providerMoves, in.Status) {
				return apperr.Conflict("An insurance provider cannot move a claim to " + in.Status + ".").WithCode("invalid_transition")
			}
		}
		if !slices.Contains(claimMoves[cl.Status], in.Status) {
			return apperr.Conflict("A claim cannot move from " + cl.Status + " to " + in.Status + ".").WithCode("invalid_transition")
		}
		if err := decide(&cl, in); err != nil {
			return err
		}
		from := cl.Status
		cl.Status = in.Status
		if in.InsurerNotes != nil {
			cl.InsurerNotes = *in.InsurerNotes
		}
		if in.HospitalNotes != nil {
			cl.HospitalNotes = *in.HospitalNotes
		}
		cl.UpdatedAt = s.opts.Now().UTC()
		if err := tx.UpdateClaim(cl); err != nil {
			return fmt.Errorf("update claim %d: %w", cl.ID, err)
		}
		if cl.Status == ClaimPaidByInsurer {
			ref := "claim:" + id(cl.ID)
			p := Payment{InvoiceID: &inv.ID, PatientID: inv.PatientID, PaymentDate: s.opts.Now().UTC(), Amount: *cl.ApprovedAmount,
				PaymentMethod: MethodInsurancePayout, TransactionID: &ref, Status: PaymentSuccess, Notes: "Insurance claim " + id(cl.ID)}
			if err := tx.InsertPayment(&p, nil); err != nil {
				return fmt.Errorf("record payout of claim %d: %w", cl.ID, err)
			}
			inv.AmountPaidByInsurance = inv.AmountPaidByInsurance.Add(p.Amount)
		}
		out = cl
		return s.afterClaimChange(ctx, tx, &inv, cl, from, c)
	})
	return out, err
}

// decide checks and fills the amounts of a decision: approved + rejected =
// claim amount. Other moves take no amounts.
func decide(cl *InsuranceClaim, in ClaimUpdate) error {
	var approved, rejected *Money
	if in.ApprovedAmount != nil {
		m, err := parseMoney("approved_amount", *in.ApprovedAmount, false)
		if err != nil {
			return err
		}
		approved = &m
	}
	if in.RejectedAmount != nil {
		m, err := parseMoney("rejected_amount", *in.RejectedAmount, false)
		if err != nil {
			return err
		}
		rejected = &m
	}
	claim := cl.ClaimAmount
	switch in.Status {
	case ClaimApproved, ClaimPartiallyApproved, ClaimRejected:
	default:
		if approved != nil || rejected != nil {
			return apperr.Field("approved_amount", "Amounts are given only with APPROVED, PARTIALLY_APPROVED or REJECTED.")
		}
		return nil
	}
	switch {
	case approved == nil && rejected == nil && in.Status == ClaimApproved:
		approved, rejected = &claim, &Zero
	case approved == nil && rejected == nil && in.Status == ClaimRejected:
		approved, rejected = &Zero, &claim
	case approved == nil && rejected != nil:
		a := claim.Sub(*rejected)
		approved = &a
	case approved != nil && rejected == nil:
		r := claim.Sub(*approved)
		rejected = &r
	case approved == nil:
		return apperr.Field("approved_amount", "This field is required for PARTIALLY_APPROVED.")
	}
	if !approved.Add(*rejected).Equal(claim.Decimal) || approved.IsNegative() || rejected.IsNegative() {
		return apperr.Field("approved_amount", "approved_amount and rejected_amount must add up to the claim amount ("+claim.String()+").")
	}
	switch {
	case in.Status == ClaimApproved && !rejected.IsZero():
		return apperr.Field("rejected_amount", "An APPROVED claim rejects nothing; use PARTIALLY_APPROVED.")
	case in.Status == ClaimRejected && !approved.IsZero():
		return apperr.Field("approved_amount", "A REJECTED claim approves nothing; use PARTIALLY_APPROVED.")
	case in.Status == ClaimPartiallyApproved && (approved.IsZero() || rejected.IsZero()):
		return apperr.Field("approved_amount", "A partial approval approves part of the claim, not none or all of it.")
	}
	cl.ApprovedAmount, cl.RejectedAmount = approved, rejected
	return nil
}
