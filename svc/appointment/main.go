// Command appointment is the Appointment service: doctor schedules,
// availability, booking, the appointment lifecycle and reminders (spec
// section 3). See README.md for its settings.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/shopspring/decimal"

	"hospital/lib/config"
	"hospital/lib/health"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/service"
	"hospital/svc/appointment/appointment"
)

// Config is the appointment service's environment.
type Config struct {
	config.Base
	MySQLDSN string `env:"MYSQL_DSN,required"`
	// ClinicTimezone: schedules are wall-clock times there; dates in queries
	// are clinic days.
	ClinicTimezone string        `env:"CLINIC_TIMEZONE" envDefault:"Asia/Ho_Chi_Minh"`
	SlotDuration   time.Duration `env:"APPOINTMENT_DURATION" envDefault:"30m"`
	// ConsultationFee is the amount billed for a completed appointment.
	ConsultationFee  string        `env:"CONSULTATION_FEE" envDefault:"150000.00"`
	MaxDaysAhead     int           `env:"AVAILABILITY_MAX_DAYS" envDefault:"90"`
	ReminderBefore   time.Duration `env:"REMINDER_BEFORE" envDefault:"24h"`
	ReminderInterval time.Duration `env:"REMINDER_INTERVAL" envDefault:"1m"`
	OutboxPoll       time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s"`
	OutboxBackoffMax time.Duration `env:"OUTBOX_BACKOFF_MAX" envDefault:"5m"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "appointment:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load[Config]()
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.ClinicTimezone)
	if err != nil {
		return fmt.Errorf("CLINIC_TIMEZONE: %w", err)
	}
	fee, err := decimal.NewFromString(cfg.ConsultationFee)
	if err != nil || fee.IsNegative() {
		return fmt.Errorf("CONSULTATION_FEE %q: a non-negative decimal is required", cfg.ConsultationFee)
	}
	if cfg.SlotDuration < 5*time.Minute || cfg.SlotDuration%time.Minute != 0 {
		return fmt.Errorf("APPOINTMENT_DURATION %s: whole minutes, at least 5", cfg.SlotDuration)
	}
	if cfg.ServiceSecret == "" {
		return fmt.Errorf("SERVICE_SECRET is required (the user service must know it in SERVICE_CLIENTS)")
	}
	s, err := service.New("appointment", cfg.Base)
	if err != nil {
		return err
	}

	startCtx, cancel := context.WithTimeout(s.Context(), 2*time.Minute)
	defer cancel()
	db, err := mysqldb.Open(startCtx, cfg.MySQLDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := appointment.Migrate(startCtx, db); err != nil {
		return err
	}

	dispatcher := outbox.NewDispatcher(db, s.Client, outbox.Options{
		Registerer: s.Registry, Logger: s.Log, Poll: cfg.OutboxPoll, BackoffMax: cfg.OutboxBackoffMax,
	})
	svc := appointment.New(db, appointment.Options{
		Verifier: s.Verifier(), Directory: appointment.UserServiceDirectory{Client: s.Client},
		Location: loc, Duration: cfg.SlotDuration, ConsultationFee: fee.StringFixed(2),
		MaxDaysAhead: cfg.MaxDaysAhead, Kick: dispatcher.Kick, Logger: s.Log,
	})
	reminders := &appointment.Reminders{
		Service: svc, Consul: s.Consul, Before: cfg.ReminderBefore, Interval: cfg.ReminderInterval, Logger: s.Log,
	}

	return s.Run(context.Background(), service.Spec{
		Handler:    appointment.Router(svc),
		Routes:     appointment.GatewayRoutes(),
		Checks:     map[string]health.Check{"mysql": mysqldb.Ping(db)},
		Background: []func(context.Context){dispatcher.Run, reminders.Run},
	})
}
