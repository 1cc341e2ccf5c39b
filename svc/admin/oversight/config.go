package oversight

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"hospital/lib/config"
	"hospital/lib/settings"
)

// Config is the admin service's environment (README.md, Settings).
type Config struct {
	config.Base
	MySQLDSN string `env:"MYSQL_DSN,required"`
	// ClinicTimezone: report days and date filters are clinic days.
	ClinicTimezone string `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	// DashboardTimeout bounds each service's answer to the dashboard; a
	// service slower than this is shown unavailable.
	DashboardTimeout time.Duration `env:"DASHBOARD_TIMEOUT" envDefault:"1500ms"`
	// ExtraConfigKeys lets keys outside the documented catalog be set:
	// comma-separated names or patterns ("ui.*,feature.new_portal"); empty
	// refuses every unknown key.
	ExtraConfigKeys string `env:"SYSTEM_CONFIG_EXTRA_KEYS"`
	// ConfigSyncInterval is how often every instance checks that Consul
	// holds the stored configuration (and publishes what it misses).
	ConfigSyncInterval time.Duration `env:"CONFIG_SYNC_INTERVAL" envDefault:"10s"`
	// TaskPollInterval is how often the task runner looks for new tasks.
	TaskPollInterval time.Duration `env:"TASK_POLL_INTERVAL" envDefault:"1s"`
	// ReportInterval is how often the task runner refreshes the reports
	// of yesterday and today on its own.
	ReportInterval time.Duration `env:"REPORT_INTERVAL" envDefault:"1h"`
	// ReportMaxDays bounds the days one recalculation may cover.
	ReportMaxDays int `env:"REPORT_MAX_DAYS" envDefault:"366"`
	// AuditBatchMax bounds how many audit events one append writes.
	AuditBatchMax int `env:"AUDIT_BATCH_MAX" envDefault:"500"`
}

// Validate refuses settings the service cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.ServiceSecret == "" {
		errs = append(errs, errors.New("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)"))
	}
	if _, err := time.LoadLocation(c.ClinicTimezone); err != nil || c.ClinicTimezone == "" {
		errs = append(errs, fmt.Errorf("CLINIC_TIMEZONE %q: not a known IANA time zone", c.ClinicTimezone))
	}
	if c.DashboardTimeout < 100*time.Millisecond || c.DashboardTimeout > 5*time.Second {
		errs = append(errs, fmt.Errorf("DASHBOARD_TIMEOUT %s: from 100ms to 5s (the dashboard answers within about this)", c.DashboardTimeout))
	}
	if _, err := parseKeyPatterns(c.ExtraConfigKeys); err != nil {
		errs = append(errs, fmt.Errorf("SYSTEM_CONFIG_EXTRA_KEYS: %w", err))
	}
	for name, d := range map[string]time.Duration{"CONFIG_SYNC_INTERVAL": c.ConfigSyncInterval,
		"TASK_POLL_INTERVAL": c.TaskPollInterval, "REPORT_INTERVAL": c.ReportInterval} {
		if d < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s %s: at least 100ms", name, d))
		}
	}
	if c.ReportMaxDays < 1 || c.ReportMaxDays > 3660 {
		errs = append(errs, fmt.Errorf("REPORT_MAX_DAYS %d: from 1 to 3660", c.ReportMaxDays))
	}
	if c.AuditBatchMax < 1 || c.AuditBatchMax > 5000 {
		errs = append(errs, fmt.Errorf("AUDIT_BATCH_MAX %d: from 1 to 5000", c.AuditBatchMax))
	}
	return errors.Join(errs...)
}

func (c Config) location() *time.Location {
	loc, err := time.LoadLocation(c.ClinicTimezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// parseKeyPatterns reads SYSTEM_CONFIG_EXTRA_KEYS: each entry a key name
// or a path.Match pattern over key names.
func parseKeyPatterns(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := path.Match(p, "x"); err != nil {
			return nil, fmt.Errorf("%q is not a pattern: %w", p, err)
		}
		if _, known := settings.Lookup(p); known {
			return nil, fmt.Errorf("%q is a documented key: it is always allowed, with its own validation", p)
		}
		out = append(out, p)
	}
	return out, nil
}
