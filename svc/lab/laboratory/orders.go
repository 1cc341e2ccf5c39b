package laboratory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// CreateOrder places a lab order for a patient (DOCTOR; the caller is the
// ordering doctor). Names and prices are copied from the user service and
// the catalog. With an Idempotency-Key a repeated request answers the first
// order instead of placing another: the order's id is derived from the
// doctor and the key, so even a request that died half-way cannot place
// two.
func (s *Service) CreateOrder(ctx context.Context, key string, in OrderRequest) (Order, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return Order{}, 0, err
	}
	if in.DoctorID != 0 && in.DoctorID != c.UserID {
		return Order{}, 0, errNotDoctor
	}
	body, _ := json.Marshal(in)
	sum := sha256.Sum256(body)
	scope := "lab-order-" + strconv.FormatInt(c.UserID, 10)
	status, answer, err := s.store.Once(ctx, scope, key, hex.EncodeToString(sum[:]), func(ctx context.Context) (int, []byte, error) {
		o, st, err := s.createOrder(ctx, c, key, in)
		if err != nil {
			return 0, nil, err
		}
		b, err := json.Marshal(o)
		return st, b, err
	})
	if err != nil {
		return Order{}, 0, err
	}
	var o Order
	if err := json.Unmarshal(answer, &o); err != nil {
		return Order{}, 0, fmt.Errorf("decode order answer: %w", err)
	}
	return o, status, nil
}

func (s *Service) createOrder(ctx context.Context, c auth.Identity, key string, in OrderRequest) (Order, int, error) {
	if len(in.Items) > s.opts.MaxItems {
		return Order{}, 0, apperr.Field("items", fmt.Sprintf("An order may hold at most %d tests.", s.opts.MaxItems))
	}
	now := s.now()
	o := Order{PatientID: in.PatientID, DoctorID: c.UserID, OrderDate: now, UpdatedAt: now,
		NotesForLab: strings.TrimSpace(in.NotesForLab), Priority: PriorityRoutine}
	if in.Priority == PriorityUrgent {
		o.Priority = PriorityUrgent
	}
	if e := strings.TrimSpace(in.EHREncounterID); e != "" {
		o.EHREncounterID = &e
	}
	seen := map[string]int{}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d].test_catalog_id", i)
		if j, dup := seen[it.TestCatalogID]; dup {
			return Order{}, 0, apperr.Field(field, fmt.Sprintf("The same test as items[%d]: order each test once.", j))
		}
		seen[it.TestCatalogID] = i
		if !IsObjectID(it.TestCatalogID) {
			return Order{}, 0, apperr.Field(field, "No such lab test.")
		}
		t, err := s.store.Test(ctx, it.TestCatalogID)
		if errors.Is(err, ErrNotFound) {
			return Order{}, 0, apperr.Field(field, "No such lab test.")
		}
		if err != nil {
			return Order{}, 0, loadErr(err, "lab test", it.TestCatalogID)
		}
		if !t.IsActive {
			return Order{}, 0, apperr.Field(field, "This test ("+t.TestCode+") is retired and can no longer be ordered.")
		}
		p := PriorityRoutine
		if it.Priority == PriorityUrgent {
			p, o.Priority = PriorityUrgent, PriorityUrgent
		}
		o.Items = append(o.Items, Item{ItemID: uuid.NewString(), TestCatalogID: t.ID, TestCode: t.TestCode,
			TestName: t.TestName, Price: t.Price, Priority: p, ItemStatus: StatusRequested})
	}
	patient, err := s.users.User(ctx, in.PatientID)
	switch {
	case errors.Is(err, userapi.ErrNotFound):
		return Order{}, 0, apperr.Field("patient_id", "No such patient.")
	case err != nil:
		return Order{}, 0, err
	case patient.Role != auth.RolePatient:
		return Order{}, 0, apperr.Field("patient_id", "This user is not a patient.")
	case !patient.IsActive:
		return Order{}, 0, apperr.Field("patient_id", "This patient's account is inactive.")
	}
	doctor, err := s.users.User(ctx, c.UserID)
	if err != nil {
		return Order{}, 0, fmt.Errorf("look up the ordering doctor: %w", err)
	}
	o.PatientName, o.DoctorName = patient.DisplayName(), doctor.DisplayName()
	if patient.Sex != nil {
		o.PatientSex = *patient.Sex
	}
	if patient.DateOfBirth != nil {
		o.PatientDateOfBirth = *patient.DateOfBirth
	}
	o.ID = newObjectID(now)
	if key != "" {
		o.ID = derivedID("lab-order", strconv.FormatInt(c.UserID, 10), key)
	}
	settle(&o, nil, now)
	err = s.store.CreateOrder(ctx, &o, event(ctx, "lab.order.create", o).With("items", len(o.Items)).Message())
	if errors.Is(err, ErrExists) && key != "" {
		// The same key placed it before (its answer was lost): answer it.
		existing, err := s.store.Order(ctx, o.ID)
		if err != nil {
			return Order{}, 0, loadErr(err, "lab order", o.ID)
		}
		return existing, http.StatusCreated, nil
	}
	if err != nil {
		return Order{}, 0, fmt.Errorf("create lab order: %w", err)
	}
	return o, http.StatusCreated, nil
}

// OrderResults is one order with its items and results (spec: "see the
// result details of one order"). Staff read any order; a patient reads
// their own once a doctor has released it. Every read is audited, and so
// is every refusal.
func (s *Service) OrderResults(ctx context.Context, id string) (Order, error) {
	c, err := caller(ctx)
	if err != nil {
		return Order{}, err
	}
	if !IsObjectID(id) {
		return Order{}, errNotFound
	}
	o, err := s.store.Order(ctx, id)
	if err != nil {
		return Order{}, loadErr(err, "lab order", id)
	}
	if c.Role == auth.RolePatient {
		refusal := error(nil)
		switch {
		case !c.IsUser(o.PatientID):
			refusal = errNotYours
		case o.Status != StatusCompleted:
			refusal = errNotReleased
		}
		if refusal != nil {
			return Order{}, s.deny(ctx, refusal, event(ctx, "lab.results.read", o))
		}
	}
	if err := s.audited(ctx, event(ctx, "lab.results.read", o)); err != nil {
		return Order{}, err
	}
	return o, nil
}

// PatientResults lists a patient's orders with their results: released
// (COMPLETED) ones by default and, for a patient, only those. Staff may
// ask for another status (e.g. RESULTS_PENDING_REVIEW).
func (s *Service) PatientResults(ctx context.Context, patientID int64, status string, limit, offset int) ([]Order, int, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	ev := auditEvent(ctx, "lab.results.list", patientID)
	if c.Role == auth.RolePatient {
		refusal := error(nil)
		switch {
		case !c.IsUser(patientID):
			refusal = errNotYours
		case status != "" && status != StatusCompleted:
			refusal = errReleasedOnly
		}
		if refusal != nil {
			return nil, 0, s.deny(ctx, refusal, ev)
		}
	}
	if status == "" {
		status = StatusCompleted
	}
	orders, n, err := s.store.PatientOrders(ctx, patientID, status, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list lab orders of patient %d: %w", patientID, err)
	}
	if err := s.audited(ctx, ev.With("status", status).With("orders", len(orders))); err != nil {
		return nil, 0, err
	}
	return orders, n, nil
}

// Pending is the lab's work list: REQUESTED and SAMPLE_COLLECTED orders,
// URGENT first, then oldest first. Reading it is audited (it names
// patients and their tests).
func (s *Service) Pending(ctx context.Context, limit, offset int) ([]Order, int, error) {
	orders, n, err := s.store.Pending(ctx, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list pending lab orders: %w", err)
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	if err := s.audited(ctx, auditEvent(ctx, "lab.orders.pending.read", 0).With("order_ids", ids)); err != nil {
		return nil, 0, err
	}
	return orders, n, nil
}

// Dashboard counts what the admin dashboard shows.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	var d Dashboard
	for _, q := range []struct {
		status string
		into   *int
	}{{StatusRequested, &d.OrdersRequested}, {StatusSampleCollected, &d.OrdersSampleCollected},
		{StatusProcessing, &d.OrdersProcessing}, {StatusResultsPendingReview, &d.ResultsAwaitingReview}} {
		n, err := s.store.CountOrders(ctx, q.status)
		if err != nil {
			return Dashboard{}, fmt.Errorf("count %s lab orders: %w", q.status, err)
		}
		*q.into = n
	}
	d.OrdersPending = d.OrdersRequested + d.OrdersSampleCollected
	n, err := s.store.CountActiveTests(ctx)
	if err != nil {
		return Dashboard{}, fmt.Errorf("count lab tests: %w", err)
	}
	d.CatalogTestsActive = n
	return d, nil
}

// auditEvent starts an audit event of this service on a patient's data
// (patientID 0: several patients).
func auditEvent(ctx context.Context, action string, patientID int64) audit.Event {
	return audit.New(ctx, ServiceName, action).OnPatient(patientID)
}

// audited records the audit event of a read (there is no change to carry it).
func (s *Service) audited(ctx context.Context, ev audit.Event) error {
	if err := s.store.Enqueue(ctx, ev.Message()); err != nil {
		return fmt.Errorf("record audit event %s: %w", ev.Action, err)
	}
	return nil
}

// deny records a refused read of a patient's data and answers refusal.
func (s *Service) deny(ctx context.Context, refusal error, ev audit.Event) error {
	if err := s.audited(ctx, ev.WithOutcome(audit.Denied)); err != nil {
		return err
	}
	return refusal
}
