package laboratory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"hospital/lib/apperr"
	"hospital/lib/audit"
)

// testCodeRe is what a test code may look like once upper-cased: CBC,
// HBA1C, LIPID-PANEL, K.SERUM.
var testCodeRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_.-]{0,31}$`)

// maxPrice bounds a price to what billing's DECIMAL(14,2) holds.
var maxPrice = decimal.RequireFromString("999999999999.99")

// testID is a catalog test's id: derived from its code, so that "one test
// per code" is the store's unique _id (the one atomic guarantee FerretDB
// gives) and two admins creating the same code at once make one test.
func testID(code string) string { return derivedID("lab-test", code) }

func normalCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// CreateTest adds a test to the catalog (ADMIN).
func (s *Service) CreateTest(ctx context.Context, in CatalogTestRequest) (CatalogTest, error) {
	t, err := s.testFrom(in)
	if err != nil {
		return CatalogTest{}, err
	}
	now := s.now()
	t.ID, t.IsActive, t.CreatedAt, t.UpdatedAt = testID(t.TestCode), true, now, now
	if in.IsActive != nil && !*in.IsActive {
		t.IsActive, t.RetiredAt = false, &now
	}
	msg := audit.New(ctx, ServiceName, "lab.catalog.create").On("lab_test", t.ID).With("test_code", t.TestCode).Message()
	if err := s.store.CreateTest(ctx, &t, msg); errors.Is(err, ErrExists) {
		return CatalogTest{}, errCodeTaken
	} else if err != nil {
		return CatalogTest{}, fmt.Errorf("create lab test %s: %w", t.TestCode, err)
	}
	return t, nil
}

// testFrom checks a request and turns it into a test (without id and times).
func (s *Service) testFrom(in CatalogTestRequest) (CatalogTest, error) {
	code := normalCode(in.TestCode)
	if !testCodeRe.MatchString(code) {
		return CatalogTest{}, apperr.Field("test_code", "Use 1 to 32 letters, digits, '-', '_' or '.', starting with a letter or digit.")
	}
	price, err := parsePrice(in.Price)
	if err != nil {
		return CatalogTest{}, err
	}
	if strings.TrimSpace(in.TestName) == "" {
		return CatalogTest{}, apperr.Field("test_name", "This field may not be blank.")
	}
	if err := checkTemplate(in.NormalRangesTemplate); err != nil {
		return CatalogTest{}, err
	}
	tmpl := in.NormalRangesTemplate
	if tmpl == nil {
		tmpl = map[string]AnalyteTemplate{}
	}
	for name, a := range tmpl {
		a.Unit = strings.TrimSpace(a.Unit)
		tmpl[name] = a
	}
	return CatalogTest{TestCode: code, TestName: strings.TrimSpace(in.TestName), Description: in.Description,
		SampleTypeRequired: in.SampleTypeRequired, TurnAroundTimeHours: in.TurnAroundTimeHours, Price: price,
		NormalRangesTemplate: tmpl}, nil
}

// parsePrice reads a decimal string: not negative, at most two decimals.
func parsePrice(s string) (Money, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	switch {
	case err != nil || strings.ContainsAny(s, "eE"):
		return "", apperr.Field("price", "A valid decimal number is required, e.g. \"150000.00\".")
	case !d.Equal(d.Round(2)):
		return "", apperr.Field("price", "Ensure that there are no more than 2 decimal places.")
	case d.IsNegative():
		return "", apperr.Field("price", "Ensure this value is greater than or equal to 0.")
	case d.GreaterThan(maxPrice):
		return "", apperr.Field("price", "Ensure this value is less than or equal to "+maxPrice.String()+".")
	}
	return Money(d.StringFixed(2)), nil
}

// Test returns one catalog test, retired or not.
func (s *Service) Test(ctx context.Context, id string) (CatalogTest, error) {
	if !IsObjectID(id) {
		return CatalogTest{}, errNotFound
	}
	t, err := s.store.Test(ctx, id)
	if err != nil {
		return CatalogTest{}, loadErr(err, "lab test", id)
	}
	return t, nil
}

// Tests lists the catalog by test_code; retired tests only when asked.
func (s *Service) Tests(ctx context.Context, includeRetired bool, limit, offset int) ([]CatalogTest, int, error) {
	ts, n, err := s.store.Tests(ctx, includeRetired, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list lab tests: %w", err)
	}
	return ts, n, nil
}

// UpdateTest replaces a test's fields (ADMIN). Its code cannot change;
// is_active retires or brings it back. Orders already placed keep the name
// and price they were placed with; results entered from now on are judged
// by the new template.
func (s *Service) UpdateTest(ctx context.Context, id string, in CatalogTestRequest) (CatalogTest, error) {
	if !IsObjectID(id) {
		return CatalogTest{}, errNotFound
	}
	next, err := s.testFrom(in)
	if err != nil {
		return CatalogTest{}, err
	}
	now := s.now()
	t, err := s.store.UpdateTest(ctx, id, func(t *CatalogTest, ch *Change) error {
		if next.TestCode != t.TestCode {
			return errCodeFixed
		}
		t.TestName, t.Description, t.SampleTypeRequired = next.TestName, next.Description, next.SampleTypeRequired
		t.TurnAroundTimeHours, t.Price, t.NormalRangesTemplate = next.TurnAroundTimeHours, next.Price, next.NormalRangesTemplate
		if in.IsActive != nil && *in.IsActive != t.IsActive {
			t.IsActive, t.RetiredAt = *in.IsActive, nil
			if !t.IsActive {
				t.RetiredAt = &now
			}
		}
		t.UpdatedAt = now
		ch.Send(audit.New(ctx, ServiceName, "lab.catalog.update").On("lab_test", t.ID).With("test_code", t.TestCode).
			With("is_active", t.IsActive).Message())
		return nil
	})
	if err != nil {
		return CatalogTest{}, loadErr(err, "lab test", id)
	}
	return t, nil
}

// RetireTest is DELETE: the test is retired, never removed. Orders that use
// it (open or closed) keep their item, their price and their template, and
// a retired test can no longer be ordered. Retiring a retired test changes
// nothing.
func (s *Service) RetireTest(ctx context.Context, id string) error {
	if !IsObjectID(id) {
		return errNotFound
	}
	now := s.now()
	_, err := s.store.UpdateTest(ctx, id, func(t *CatalogTest, ch *Change) error {
		if !t.IsActive {
			return errUnchanged
		}
		t.IsActive, t.RetiredAt, t.UpdatedAt = false, &now, now
		ch.Send(audit.New(ctx, ServiceName, "lab.catalog.retire").On("lab_test", t.ID).With("test_code", t.TestCode).Message())
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return loadErr(err, "lab test", id)
	}
	return nil
}

// errUnchanged ends a change that has nothing to record (a repeated PUT of
// the status a document already has).
var errUnchanged = errors.New("unchanged")
