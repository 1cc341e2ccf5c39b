package settings_test

import (
	"encoding/json"
	"testing"
	"time"

	"hospital/lib/settings"
)

func TestValuesAreCheckedAndNormalized(t *testing.T) {
	cases := []struct {
		def  settings.Definition
		in   string
		want string // "" means refused
	}{
		{settings.ConsultationFee, `"175000"`, `"175000.00"`},
		{settings.ConsultationFee, `"175000.5"`, `"175000.50"`},
		{settings.ConsultationFee, `200000`, `"200000.00"`},
		{settings.ConsultationFee, `"0"`, `"0.00"`},
		{settings.ConsultationFee, `"007.10"`, `"7.10"`},
		{settings.ConsultationFee, `"-1"`, ``},
		{settings.ConsultationFee, `"1.005"`, ``},
		{settings.ConsultationFee, `"1e5"`, ``},
		{settings.ConsultationFee, `true`, ``},
		{settings.ConsultationFee, `null`, ``},
		{settings.ConsultationFee, `"99999999999999"`, ``},
		{settings.InvoiceDueDays, `45`, `45`},
		{settings.InvoiceDueDays, `0`, `0`},
		{settings.InvoiceDueDays, `366`, ``},
		{settings.InvoiceDueDays, `-1`, ``},
		{settings.InvoiceDueDays, `30.5`, ``},
		{settings.InvoiceDueDays, `"30"`, ``},
		{settings.InvoiceDueDays, `{}`, ``},
		{settings.ReminderBefore, `"2h"`, `"2h"`},
		{settings.ReminderBefore, `"90m"`, `"1h30m"`},
		{settings.ReminderBefore, `"168h"`, `"168h"`},
		{settings.ReminderBefore, `"5m"`, ``},
		{settings.ReminderBefore, `"169h"`, ``},
		{settings.ReminderBefore, `3600`, ``},
		{settings.ReminderBefore, `"soon"`, ``},
		{settings.LoginMaxFailures, `3`, `3`},
		{settings.LoginMaxFailures, `0`, ``},
		{settings.LoginLock, `"30m"`, `"30m"`},
		{settings.LoginLock, `"30s"`, ``},
		{settings.PharmacyExpiryWarningDays, `1`, `1`},
		{settings.PharmacyExpiryWarningDays, `365`, `365`},
		{settings.PharmacyExpiryWarningDays, `0`, ``},
		{settings.PharmacyExpiryWarningDays, `366`, ``},
	}
	for _, c := range cases {
		got, err := c.def.Normalize(json.RawMessage(c.in))
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s = %s: accepted as %s", c.def.Name(), c.in, got)
		case c.want != "" && err != nil:
			t.Errorf("%s = %s: %v", c.def.Name(), c.in, err)
		case c.want != "" && string(got) != c.want:
			t.Errorf("%s = %s: normalized to %s, want %s", c.def.Name(), c.in, got, c.want)
		}
	}
}

func TestCatalogIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range settings.Catalog() {
		if !settings.NamePattern.MatchString(d.Name()) || len(d.Name()) > settings.MaxNameLength {
			t.Errorf("%q is not a valid key name", d.Name())
		}
		if seen[d.Name()] {
			t.Errorf("%s listed twice", d.Name())
		}
		seen[d.Name()] = true
		if d.Description() == "" || d.Type() == "" || len(d.ReadBy()) == 0 {
			t.Errorf("%s: description, type and readers are required", d.Name())
		}
		if _, err := d.Normalize(d.Default()); err != nil {
			t.Errorf("%s: its default %s is refused: %v", d.Name(), d.Default(), err)
		}
		if got, ok := settings.Lookup(d.Name()); !ok || got.Name() != d.Name() {
			t.Errorf("Lookup(%s) = %v, %v", d.Name(), got, ok)
		}
	}
	if _, ok := settings.Lookup("nobody.reads_this"); ok {
		t.Error("Lookup found an unknown key")
	}
	if v, _ := settings.ReminderBefore.Parse(settings.ReminderBefore.Default()); v != 24*time.Hour {
		t.Errorf("reminder default %s", v)
	}
	if v, _ := settings.PharmacyExpiryWarningDays.Parse(settings.PharmacyExpiryWarningDays.Default()); v != 30 {
		t.Errorf("expiry warning default %d", v)
	}
	if _, ok := settings.Lookup("pharmacy.expiry_warning_days"); !ok {
		t.Error("pharmacy.expiry_warning_days is not in the catalog")
	}
}
