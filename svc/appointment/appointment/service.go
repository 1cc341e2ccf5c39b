// Package appointment is the Appointment service (spec section 3): doctor
// schedules, availability, booking, the appointment lifecycle, reminders and
// the side effects on Notification, EHR and Billing.
package appointment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"hospital/lib/auth"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/problem"
	"hospital/lib/svcclient"
)

// Downstream services and their paths.
const (
	UserService          = "user"
	NotificationService  = "notification"
	EHRService           = "ehr"
	BillingService       = "billing"
	NotificationSendPath = "/api/v1/notifications/send/"
	BillingInvoicePath   = "/api/v1/billing/internal/create-invoice-for-appointment/"
)

// EHRLinkPath is the EHR call made when an appointment is completed.
func EHRLinkPath(patientID int64) string {
	return fmt.Sprintf("/api/v1/ehr/internal/patients/%d/link-appointment/", patientID)
}

// Directory looks users up in the user service.
type Directory interface {
	User(ctx context.Context, id int64) (UserInfo, error)
}

// UserServiceDirectory is the Directory backed by the user service's
// GET /api/v1/admin/users/{id}/ (called with this service's token).
type UserServiceDirectory struct{ Client *svcclient.Client }

// ErrUnknownUser: the user service does not know the id.
var ErrUnknownUser = errors.New("unknown user")

// User returns the user with id.
func (d UserServiceDirectory) User(ctx context.Context, id int64) (UserInfo, error) {
	var u UserInfo
	err := d.Client.JSON(ctx, UserService, http.MethodGet, "/api/v1/admin/users/"+strconv.FormatInt(id, 10)+"/", nil, &u)
	var se *svcclient.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return u, ErrUnknownUser
	}
	return u, err
}

// Options configure a Service.
type Options struct {
	Verifier        *auth.Verifier
	Directory       Directory
	Location        *time.Location // the clinic's time zone
	Duration        time.Duration  // length of a slot and of an appointment
	ConsultationFee string         // decimal, e.g. "150000.00"
	MaxDaysAhead    int            // how far availability may be asked for (days)
	Now             func() time.Time
	Kick            func() // wake the outbox dispatcher after a commit
	Logger          *slog.Logger
}

// Service holds every rule of the appointment domain.
type Service struct {
	db   *sql.DB
	opts Options
}

// New returns the service over db.
func New(db *sql.DB, opts Options) *Service {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Duration == 0 {
		opts.Duration = 30 * time.Minute
	}
	if opts.MaxDaysAhead == 0 {
		opts.MaxDaysAhead = 90
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Kick == nil {
		opts.Kick = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{db: db, opts: opts}
}

// Verifier checks the tokens of incoming requests.
func (s *Service) Verifier() *auth.Verifier { return s.opts.Verifier }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// clinicTime formats t for people, in the clinic's time zone.
func (s *Service) clinicTime(t time.Time) string {
	return t.In(s.opts.Location).Format("2006-01-02 15:04")
}

var errForbidden = problem.Forbidden("You do not have permission to perform this action.")

// ---------------------------------------------------------------------------
// Booking

// Create books a slot. A patient books for themself; NURSE and ADMIN book
// for the patient_id they name. The slot must be free in the doctor's
// schedule; the unique key on (doctor_id, active_slot) refuses a second
// booking of it whatever the concurrency.
func (s *Service) Create(ctx context.Context, in CreateRequest) (Appointment, error) {
	caller, err := auth.RequireRole(ctx, auth.RolePatient, auth.RoleNurse, auth.RoleAdmin)
	if err != nil {
		return Appointment{}, err
	}
	patientID := caller.UserID
	switch {
	case caller.Role == auth.RolePatient:
		if in.PatientID != nil && *in.PatientID != caller.UserID {
			return Appointment{}, problem.Forbidden("A patient can only book appointments for themself.")
		}
	case in.PatientID == nil:
		return Appointment{}, problem.Field("patient_id", "This field is required when staff book for a patient.")
	default:
		patientID = *in.PatientID
	}
	start, err := time.Parse(time.RFC3339, in.AppointmentTime)
	if err != nil {
		return Appointment{}, problem.Field("appointment_time", "Datetime has wrong format. Use RFC 3339, e.g. 2026-12-01T09:00:00+07:00.")
	}
	start = start.UTC()
	now := s.now()
	if !start.After(now) {
		return Appointment{}, problem.Field("appointment_time", "The appointment time must be in the future.")
	}
	if start.Nanosecond() != 0 || start.Second() != 0 {
		return Appointment{}, problem.Field("appointment_time", "The appointment time must be the start of a free slot.")
	}

	doctor, err := s.opts.Directory.User(ctx, in.DoctorID)
	if errors.Is(err, ErrUnknownUser) || (err == nil && (doctor.Role != auth.RoleDoctor || !doctor.IsActive)) {
		return Appointment{}, problem.Field("doctor_id", "No active doctor with this id.")
	}
	if err != nil {
		return Appointment{}, err
	}
	patient, err := s.opts.Directory.User(ctx, patientID)
	if errors.Is(err, ErrUnknownUser) || (err == nil && (patient.Role != auth.RolePatient || !patient.IsActive)) {
		return Appointment{}, problem.Field("patient_id", "No active patient with this id.")
	}
	if err != nil {
		return Appointment{}, err
	}

	schedules, err := listSchedules(ctx, s.db, in.DoctorID)
	if err != nil {
		return Appointment{}, err
	}
	if !IsFreeSlot(scheduleEntries(schedules), start, s.opts.Location, s.opts.Duration, now) {
		return Appointment{}, problem.Field("appointment_time", "This time is not a slot of the doctor's schedule; see the availability endpoint.")
	}

	a := Appointment{
		PatientID: patientID, DoctorID: in.DoctorID, AppointmentTime: start,
		DurationMinutes: int(s.opts.Duration / time.Minute), Status: StatusPending,
		ReasonForVisit: in.ReasonForVisit, PatientName: patient.DisplayName(), DoctorName: doctor.DisplayName(),
		CreatedAt: now, UpdatedAt: now,
	}
	iv := Interval{Start: start, End: a.EndTime()}
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := lockBooking(ctx, tx, a.DoctorID, a.PatientID); err != nil {
			return err
		}
		if o, err := overlapping(ctx, tx, "doctor_id", a.DoctorID, iv); err != nil {
			return err
		} else if o != nil {
			return slotTaken()
		}
		if o, err := overlapping(ctx, tx, "patient_id", a.PatientID, iv); err != nil {
			return err
		} else if o != nil {
			return problem.Conflict(fmt.Sprintf("The patient already has appointment %d at %s overlapping this time.", o.ID, s.clinicTime(o.AppointmentTime)))
		}
		if err := insertAppointment(ctx, tx, &a); err != nil {
			if mysqldb.IsDuplicate(err) {
				return slotTaken()
			}
			return err
		}
		for _, m := range s.requestedMessages(a) {
			if err := outbox.Enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Appointment{}, err
	}
	s.opts.Kick()
	return a, nil
}

func slotTaken() error {
	return problem.Conflict("This slot is already booked; choose another one.")
}

// ---------------------------------------------------------------------------
// Reading

// Get returns one appointment the caller may see.
func (s *Service) Get(ctx context.Context, id int64) (Appointment, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	a, err := s.load(ctx, s.db, id, false)
	if err != nil {
		return a, err
	}
	if !canSee(caller, a) {
		return Appointment{}, errForbidden
	}
	return a, nil
}

func (s *Service) load(ctx context.Context, q querier, id int64, forUpdate bool) (Appointment, error) {
	a, err := getAppointment(ctx, q, id, forUpdate)
	if errors.Is(err, errNotFound) {
		return a, problem.NotFound("Appointment not found.")
	}
	return a, err
}

// canSee: the patient and the doctor of the appointment, nurses and admins.
func canSee(c auth.Identity, a Appointment) bool {
	switch c.Role {
	case auth.RoleAdmin, auth.RoleNurse:
		return true
	case auth.RolePatient:
		return c.IsUser(a.PatientID)
	case auth.RoleDoctor:
		return c.IsUser(a.DoctorID)
	}
	return false
}

// ListForPatient: the patient themself, nurses and admins; a doctor sees
// only the patient's appointments with them.
func (s *Service) ListForPatient(ctx context.Context, patientID int64, f ListFilter, limit, offset int) ([]Appointment, int, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case caller.HasRole(auth.RoleAdmin, auth.RoleNurse):
	case caller.Role == auth.RolePatient && caller.IsUser(patientID):
	case caller.Role == auth.RoleDoctor:
		f.DoctorID = caller.UserID
	default:
		return nil, 0, errForbidden
	}
	f.PatientID = patientID
	return listAppointments(ctx, s.db, f, limit, offset)
}

// ListForDoctor: the doctor themself, nurses and admins.
func (s *Service) ListForDoctor(ctx context.Context, doctorID int64, f ListFilter, limit, offset int) ([]Appointment, int, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !caller.HasRole(auth.RoleAdmin, auth.RoleNurse) && !(caller.Role == auth.RoleDoctor && caller.IsUser(doctorID)) {
		return nil, 0, errForbidden
	}
	f.DoctorID = doctorID
	return listAppointments(ctx, s.db, f, limit, offset)
}

// ---------------------------------------------------------------------------
// Lifecycle

// transition runs one status change under a row lock: allowed decides who may
// do it, from lists the statuses it starts from, and after enqueues its side
// effects in the same transaction.
func (s *Service) transition(ctx context.Context, id int64, allowed func(auth.Identity, Appointment) bool,
	target func(auth.Identity) string, from []string, check func(Appointment, time.Time) error,
	after func(Appointment) []outbox.Message) (Appointment, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	var out Appointment
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		a, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !allowed(caller, a) {
			return errForbidden
		}
		to := target(caller)
		if !slices.Contains(from, a.Status) {
			return problem.Conflict(fmt.Sprintf("Cannot change an appointment from %s to %s.", a.Status, to))
		}
		now := s.now()
		if check != nil {
			if err := check(a, now); err != nil {
				return err
			}
		}
		if err := updateStatus(ctx, tx, &a, to, now); err != nil {
			return err
		}
		if after != nil {
			for _, m := range after(a) {
				if err := outbox.Enqueue(ctx, tx, m); err != nil {
					return err
				}
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return Appointment{}, err
	}
	if after != nil {
		s.opts.Kick()
	}
	return out, nil
}

func fixed(status string) func(auth.Identity) string {
	return func(auth.Identity) string { return status }
}

func isOwnDoctorOr(roles ...string) func(auth.Identity, Appointment) bool {
	return func(c auth.Identity, a Appointment) bool {
		return (c.Role == auth.RoleDoctor && c.IsUser(a.DoctorID)) || c.HasRole(roles...)
	}
}

// Cancel: the patient (CANCELLED_PATIENT) or the doctor, a nurse or an admin
// (CANCELLED_DOCTOR), from PENDING or CONFIRMED, before the appointment
// starts. The slot is free again at once.
func (s *Service) Cancel(ctx context.Context, id int64) (Appointment, error) {
	return s.transition(ctx, id,
		func(c auth.Identity, a Appointment) bool {
			return (c.Role == auth.RolePatient && c.IsUser(a.PatientID)) || isOwnDoctorOr(auth.RoleNurse, auth.RoleAdmin)(c, a)
		},
		func(c auth.Identity) string {
			if c.Role == auth.RolePatient {
				return StatusCancelledPatient
			}
			return StatusCancelledDoctor
		},
		[]string{StatusPending, StatusConfirmed},
		func(a Appointment, now time.Time) error {
			if !a.AppointmentTime.After(now) {
				return problem.Conflict("The appointment has already started; it can no longer be cancelled.")
			}
			return nil
		}, nil)
}

// Confirm: the doctor, a nurse or an admin; PENDING → CONFIRMED.
func (s *Service) Confirm(ctx context.Context, id int64) (Appointment, error) {
	return s.transition(ctx, id, isOwnDoctorOr(auth.RoleNurse, auth.RoleAdmin), fixed(StatusConfirmed),
		[]string{StatusPending}, nil,
		func(a Appointment) []outbox.Message {
			return []outbox.Message{s.notification("appointment-confirmed-patient", "APPOINTMENT_CONFIRMED_PATIENT", a.PatientID, a)}
		})
}

// Complete: the doctor or an admin; CONFIRMED → COMPLETED. EHR gets the
// encounter link and Billing the consultation invoice.
func (s *Service) Complete(ctx context.Context, id int64) (Appointment, error) {
	return s.transition(ctx, id, isOwnDoctorOr(auth.RoleAdmin), fixed(StatusCompleted),
		[]string{StatusConfirmed}, nil, s.completedMessages)
}

// Update changes notes_doctor and reason_for_visit (the doctor, a nurse or an
// admin), or marks a NO_SHOW once the appointment's time has passed.
func (s *Service) Update(ctx context.Context, id int64, in UpdateRequest) (Appointment, error) {
	if in.NotesDoctor == nil && in.ReasonForVisit == nil && in.Status == nil {
		return Appointment{}, problem.BadRequest("Nothing to update: send notes_doctor, reason_for_visit or status.")
	}
	caller, err := auth.Caller(ctx)
	if err != nil {
		return Appointment{}, err
	}
	if in.Status != nil {
		a, err := s.transition(ctx, id, isOwnDoctorOr(auth.RoleNurse, auth.RoleAdmin), fixed(StatusNoShow),
			[]string{StatusPending, StatusConfirmed},
			func(a Appointment, now time.Time) error {
				if now.Before(a.EndTime()) {
					return problem.Conflict("An appointment can be marked NO_SHOW only after its time has passed.")
				}
				return nil
			}, nil)
		if err != nil || (in.NotesDoctor == nil && in.ReasonForVisit == nil) {
			return a, err
		}
	}
	var out Appointment
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		a, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !isOwnDoctorOr(auth.RoleNurse, auth.RoleAdmin)(caller, a) {
			return errForbidden
		}
		if in.NotesDoctor != nil {
			a.NotesDoctor = *in.NotesDoctor
		}
		if in.ReasonForVisit != nil {
			a.ReasonForVisit = *in.ReasonForVisit
		}
		a.UpdatedAt = s.now()
		out = a
		return updateFields(ctx, tx, a)
	})
	return out, err
}

// ---------------------------------------------------------------------------
// Side effects

// notificationBody is the spec's POST /api/v1/notifications/send/ payload.
type notificationBody struct {
	NotificationType string            `json:"notification_type"`
	RecipientID      int64             `json:"recipient_id"`
	Channel          string            `json:"channel"`
	Data             map[string]string `json:"data"`
}

func (s *Service) notification(keyPrefix, typ string, recipient int64, a Appointment) outbox.Message {
	return outbox.Message{
		Key: keyPrefix + ":" + strconv.FormatInt(a.ID, 10), Service: NotificationService,
		Method: http.MethodPost, Path: NotificationSendPath,
		Body: notificationBody{
			NotificationType: typ, RecipientID: recipient, Channel: "EMAIL",
			Data: map[string]string{
				"patient_name": a.PatientName, "doctor_name": a.DoctorName,
				"appointment_time": s.clinicTime(a.AppointmentTime),
			},
		},
	}
}

func (s *Service) requestedMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		s.notification("appointment-requested-patient", "APPOINTMENT_REQUESTED_PATIENT", a.PatientID, a),
		s.notification("appointment-requested-doctor", "APPOINTMENT_REQUESTED_DOCTOR", a.DoctorID, a),
	}
}

func (s *Service) reminderMessages(a Appointment) []outbox.Message {
	return []outbox.Message{
		s.notification("appointment-reminder-patient", "APPOINTMENT_REMINDER_PATIENT", a.PatientID, a),
		s.notification("appointment-reminder-doctor", "APPOINTMENT_REMINDER_DOCTOR", a.DoctorID, a),
	}
}

// EHRLink is the spec's link-appointment payload.
type EHRLink struct {
	AppointmentID   int64     `json:"appointment_id"`
	DoctorID        int64     `json:"doctor_id"`
	PatientID       int64     `json:"patient_id"`
	AppointmentTime time.Time `json:"appointment_time"`
}

// InvoiceRequest is the spec's create-invoice-for-appointment payload.
type InvoiceRequest struct {
	AppointmentID      int64  `json:"appointment_id"`
	PatientID          int64  `json:"patient_id"`
	DoctorID           int64  `json:"doctor_id"`
	ServiceDescription string `json:"service_description"`
	Amount             string `json:"amount"`
}

func (s *Service) completedMessages(a Appointment) []outbox.Message {
	id := strconv.FormatInt(a.ID, 10)
	return []outbox.Message{
		{
			Key: "appointment-ehr-link:" + id, Service: EHRService, Method: http.MethodPost, Path: EHRLinkPath(a.PatientID),
			Body: EHRLink{AppointmentID: a.ID, DoctorID: a.DoctorID, PatientID: a.PatientID, AppointmentTime: a.AppointmentTime},
		},
		{
			Key: "appointment-invoice:" + id, Service: BillingService, Method: http.MethodPost, Path: BillingInvoicePath,
			Body: InvoiceRequest{AppointmentID: a.ID, PatientID: a.PatientID, DoctorID: a.DoctorID,
				ServiceDescription: "Consultation", Amount: s.opts.ConsultationFee},
		},
	}
}

// ---------------------------------------------------------------------------
// Schedules and availability

func canManageSchedule(c auth.Identity, doctorID int64) bool {
	return c.Role == auth.RoleAdmin || (c.Role == auth.RoleDoctor && c.IsUser(doctorID))
}

// Schedule returns a doctor's schedule: that doctor, nurses and admins.
func (s *Service) Schedule(ctx context.Context, doctorID int64) ([]DoctorSchedule, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if !canManageSchedule(caller, doctorID) && caller.Role != auth.RoleNurse {
		return nil, errForbidden
	}
	out, err := listSchedules(ctx, s.db, doctorID)
	if out == nil {
		out = []DoctorSchedule{}
	}
	return out, err
}

// SaveSchedule creates an entry, or updates the one with the same
// day_of_week, start_time and valid_from: that doctor or an admin.
func (s *Service) SaveSchedule(ctx context.Context, doctorID int64, in ScheduleRequest) (DoctorSchedule, bool, error) {
	caller, err := auth.Caller(ctx)
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	if !canManageSchedule(caller, doctorID) {
		return DoctorSchedule{}, false, errForbidden
	}
	errs := map[string][]string{}
	start, err := ParseClock(in.StartTime)
	if err != nil {
		errs["start_time"] = []string{"Time has wrong format. Use HH:MM."}
	}
	end, err := ParseClock(in.EndTime)
	if err != nil {
		errs["end_time"] = []string{"Time has wrong format. Use HH:MM."}
	} else if len(errs) == 0 && end <= start {
		errs["end_time"] = []string{"end_time must be after start_time."}
	}
	from, err := time.Parse(DateLayout, in.ValidFrom)
	if err != nil {
		errs["valid_from"] = []string{"Date has wrong format. Use YYYY-MM-DD."}
	}
	if in.ValidTo != nil {
		to, err := time.Parse(DateLayout, *in.ValidTo)
		if err != nil {
			errs["valid_to"] = []string{"Date has wrong format. Use YYYY-MM-DD."}
		} else if len(errs) == 0 && to.Before(from) {
			errs["valid_to"] = []string{"valid_to must not be before valid_from."}
		}
	}
	if len(errs) > 0 {
		return DoctorSchedule{}, false, problem.Validation(errs)
	}
	if caller.Role == auth.RoleAdmin {
		// A doctor saving their own schedule is known to be a doctor.
		u, err := s.opts.Directory.User(ctx, doctorID)
		if errors.Is(err, ErrUnknownUser) || (err == nil && u.Role != auth.RoleDoctor) {
			return DoctorSchedule{}, false, problem.NotFound("No doctor with this id.")
		}
		if err != nil {
			return DoctorSchedule{}, false, err
		}
	}
	entry := DoctorSchedule{
		DoctorID: doctorID, DayOfWeek: *in.DayOfWeek, StartTime: start.String(), EndTime: end.String(),
		IsAvailable: in.IsAvailable == nil || *in.IsAvailable, ValidFrom: from.Format(DateLayout), ValidTo: in.ValidTo,
	}
	if err := ensureLock(ctx, s.db, fmt.Sprintf("doctor:%d", doctorID)); err != nil {
		return DoctorSchedule{}, false, err
	}
	created, err := upsertSchedule(ctx, s.db, entry, s.now())
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	all, err := listSchedules(ctx, s.db, doctorID)
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	for _, e := range all {
		if e.DayOfWeek == entry.DayOfWeek && e.StartTime == entry.StartTime && e.ValidFrom == entry.ValidFrom {
			return e, created, nil
		}
	}
	return DoctorSchedule{}, false, fmt.Errorf("schedule entry vanished after save")
}

// Availability lists a doctor's free slots for date and the days_in_advance
// days after it (clinic days). Any signed-in user may ask.
func (s *Service) Availability(ctx context.Context, doctorID int64, date string, daysInAdvance string) (Availability, error) {
	if _, err := auth.Caller(ctx); err != nil {
		return Availability{}, err
	}
	now := s.now()
	from := ClinicDate(now, s.opts.Location)
	if date != "" {
		d, err := time.Parse(DateLayout, date)
		if err != nil {
			return Availability{}, problem.Field("date", "Date has wrong format. Use YYYY-MM-DD.")
		}
		from = d
	}
	extra := 0
	if daysInAdvance != "" {
		n, err := strconv.Atoi(daysInAdvance)
		if err != nil || n < 0 || n > s.opts.MaxDaysAhead {
			return Availability{}, problem.Field("days_in_advance", fmt.Sprintf("A whole number from 0 to %d is required.", s.opts.MaxDaysAhead))
		}
		extra = n
	}
	schedules, err := listSchedules(ctx, s.db, doctorID)
	if err != nil {
		return Availability{}, err
	}
	days := extra + 1
	// The clinic days span at most these UTC instants (zones are within ±14h).
	window := Interval{Start: from.Add(-14 * time.Hour), End: from.AddDate(0, 0, days).Add(14 * time.Hour)}
	booked, err := bookedIntervals(ctx, s.db, doctorID, window)
	if err != nil {
		return Availability{}, err
	}
	free := FreeSlots(SlotQuery{Entries: scheduleEntries(schedules), From: from, Days: days, Location: s.opts.Location,
		Duration: s.opts.Duration, Now: now, Booked: booked})
	out := Availability{DoctorID: doctorID, TimeZone: s.opts.Location.String(), DurationMinutes: int(s.opts.Duration / time.Minute)}
	for _, d := range free {
		day := AvailabilityDay{Date: d.Date, Slots: make([]TimeSlot, 0, len(d.Slots))}
		for _, iv := range d.Slots {
			day.Slots = append(day.Slots, TimeSlot{DoctorID: doctorID, StartTime: iv.Start, EndTime: iv.End})
		}
		out.Days = append(out.Days, day)
	}
	return out, nil
}
