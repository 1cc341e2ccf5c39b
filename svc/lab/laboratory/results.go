package laboratory

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"hospital/lib/apperr"
)

var errFileURL = apperr.Field("result_file_url", "An http or https URL is required, e.g. https://files.hospital.example/results/cbc.pdf.")

// EnterResult records an item's result (LAB_TECHNICIAN; the caller is the
// technician). Each value is judged against the catalog test's template
// for the patient's sex and age: the client's is_abnormal is never used.
// The item then awaits review; once every item of the order has its result
// the ordering doctor is told (LAB_RESULT_READY_DOCTOR), and a critical
// value tells them at once (LAB_RESULT_CRITICAL). Until a doctor releases
// the order a result may be entered again (a correction; the earlier one
// stays in the order's history); the same result entered twice records
// nothing new.
func (s *Service) EnterResult(ctx context.Context, orderID, itemID string, in ResultRequest) (Order, error) {
	c, err := caller(ctx)
	if err != nil {
		return Order{}, err
	}
	if in.TechnicianID != 0 && in.TechnicianID != c.UserID {
		return Order{}, errNotTechnician
	}
	fileURL, err := checkFileURL(in.ResultFileURL)
	if err != nil {
		return Order{}, err
	}
	if len(in.ResultValues) == 0 && fileURL == nil {
		return Order{}, errNoResult
	}
	if !IsObjectID(orderID) {
		return Order{}, errNotFound
	}
	// The result is judged once, inside the change (a change that loses a
	// race runs again on the newer version, and reuses it): reading the
	// order first would cost another lookup of the order on every entry.
	var (
		judged   *Result
		sex, dob string
	)
	o, err := s.store.UpdateOrder(ctx, orderID, func(o *Order, ch *Change) error {
		it := itemOf(o, itemID)
		if it == nil {
			return errNotFound
		}
		if closed(o.Status) {
			return errClosed
		}
		if it.ItemStatus != StatusSampleCollected && it.ItemStatus != StatusProcessing && it.ItemStatus != StatusResultsPendingReview {
			return illegal("lab order item", it.ItemStatus, StatusResultsPendingReview)
		}
		if judged == nil {
			r, rs, rd, err := s.judgeResult(ctx, c.UserID, *o, *it, in, fileURL)
			if err != nil {
				return err
			}
			judged, sex, dob = &r, rs, rd
		}
		if it.ItemStatus == StatusResultsPendingReview && sameResult(it.Result, judged) {
			return errUnchanged
		}
		correction := it.Result != nil
		if o.PatientSex == "" {
			o.PatientSex = sex
		}
		if o.PatientDateOfBirth == "" {
			o.PatientDateOfBirth = dob
		}
		r := *judged
		it.Result, it.ItemStatus = &r, StatusResultsPendingReview
		settle(o, ch, s.now())
		if r.IsCritical {
			ch.Send(criticalValue(*o, *it))
		}
		ch.Send(event(ctx, "lab.result.enter", *o).With("item_id", itemID).With("correction", correction).Message())
		return nil
	})
	return s.changed(ctx, orderID, o, err, Order{})
}

// judgeResult computes an item's result from the values entered: each is
// judged against the catalog test's template for the patient's sex and age
// on the clinic's date of the result. It also answers the sex and date of
// birth it used, for the order to keep.
func (s *Service) judgeResult(ctx context.Context, technicianID int64, o Order, it Item, in ResultRequest, fileURL *string) (Result, string, string, error) {
	test, err := s.store.Test(ctx, it.TestCatalogID)
	if err != nil {
		return Result{}, "", "", loadErr(err, "lab test", it.TestCatalogID)
	}
	sex, dob := s.demographics(ctx, o)
	now := s.now()
	values, abnormal, critical, notes, err := assess(test.TestCode, test.NormalRangesTemplate, in.ResultValues,
		subjectOf(Order{PatientSex: sex, PatientDateOfBirth: dob}, s.clinicDay(now)))
	if err != nil {
		return Result{}, "", "", err
	}
	return Result{TechnicianID: technicianID, ResultDate: now, ResultValues: values,
		Interpretation: strings.TrimSpace(in.Interpretation), ResultFileURL: fileURL,
		IsAbnormal: abnormal, IsCritical: critical, Notes: notes}, sex, dob, nil
}

// demographics are the patient's sex and date of birth for the ranges: as
// recorded on the order, asked again of the user service when either was
// unknown when the order was placed (someone may have filled it in since).
// If the user service cannot answer, the result says what is unknown.
func (s *Service) demographics(ctx context.Context, o Order) (sex, dob string) {
	sex, dob = o.PatientSex, o.PatientDateOfBirth
	if sex != "" && dob != "" {
		return sex, dob
	}
	u, err := s.users.User(ctx, o.PatientID)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.opts.Logger.WarnContext(ctx, "patient's sex and date of birth not refreshed", "order_id", o.ID, "err", err.Error())
		}
		return sex, dob
	}
	if sex == "" && u.Sex != nil {
		sex = *u.Sex
	}
	if dob == "" && u.DateOfBirth != nil {
		dob = *u.DateOfBirth
	}
	return sex, dob
}

// checkFileURL admits an absolute http(s) URL without credentials in it,
// stored as given.
func checkFileURL(s string) (*string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errFileURL
	}
	return &s, nil
}

// sameResult reports whether b repeats a (a retried request): same
// technician, values, interpretation and file.
func sameResult(a, b *Result) bool {
	if a == nil || b == nil || a.TechnicianID != b.TechnicianID || a.Interpretation != b.Interpretation ||
		len(a.ResultValues) != len(b.ResultValues) || (a.ResultFileURL == nil) != (b.ResultFileURL == nil) {
		return false
	}
	if a.ResultFileURL != nil && *a.ResultFileURL != *b.ResultFileURL {
		return false
	}
	for k, v := range a.ResultValues {
		w, ok := b.ResultValues[k]
		if !ok || v.Value != w.Value || v.Unit != w.Unit {
			return false
		}
	}
	return true
}
