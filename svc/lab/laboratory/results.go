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
	o, err := s.store.Order(ctx, orderID)
	if err != nil {
		return Order{}, loadErr(err, "lab order", orderID)
	}
	item := itemOf(&o, itemID)
	if item == nil {
		return Order{}, errNotFound
	}
	test, err := s.store.Test(ctx, item.TestCatalogID)
	if err != nil {
		return Order{}, loadErr(err, "lab test", item.TestCatalogID)
	}
	sex, dob := s.demographics(ctx, o)
	now := s.now()
	subject := subjectOf(Order{PatientSex: sex, PatientDateOfBirth: dob}, s.clinicDay(now))
	values, abnormal, critical, notes, err := assess(test.TestCode, test.NormalRangesTemplate, in.ResultValues, subject)
	if err != nil {
		return Order{}, err
	}
	result := Result{TechnicianID: c.UserID, ResultDate: now, ResultValues: values,
		Interpretation: strings.TrimSpace(in.Interpretation), ResultFileURL: fileURL,
		IsAbnormal: abnormal, IsCritical: critical, Notes: notes}

	o, err = s.store.UpdateOrder(ctx, orderID, func(o *Order, ch *Change) error {
		it := itemOf(o, itemID)
		if it == nil {
			return errNotFound
		}
		if closed(o.Status) {
			return errClosed
		}
		switch it.ItemStatus {
		case StatusSampleCollected, StatusProcessing:
		case StatusResultsPendingReview:
			if sameResult(it.Result, &result) {
				return errUnchanged
			}
		default:
			return illegal("lab order item", it.ItemStatus, StatusResultsPendingReview)
		}
		correction := it.Result != nil
		if o.PatientSex == "" {
			o.PatientSex = sex
		}
		if o.PatientDateOfBirth == "" {
			o.PatientDateOfBirth = dob
		}
		r := result
		it.Result, it.ItemStatus = &r, StatusResultsPendingReview
		settle(o, ch, now)
		if r.IsCritical {
			ch.Send(criticalValue(*o, *it))
		}
		ch.Send(event(ctx, "lab.result.enter", *o).With("item_id", itemID).With("correction", correction).Message())
		return nil
	})
	return s.changed(ctx, orderID, o, err, Order{})
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
