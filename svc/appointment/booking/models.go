package booking

import "time"

// Appointment statuses (spec section 3).
const (
	StatusPending          = "PENDING"
	StatusConfirmed        = "CONFIRMED"
	StatusCancelledPatient = "CANCELLED_PATIENT"
	StatusCancelledDoctor  = "CANCELLED_DOCTOR"
	StatusCompleted        = "COMPLETED"
	StatusNoShow           = "NO_SHOW"
)

// Statuses lists every valid status, for filters.
var Statuses = []string{StatusPending, StatusConfirmed, StatusCancelledPatient, StatusCancelledDoctor, StatusCompleted, StatusNoShow}

// HoldsSlot reports whether an appointment in status keeps its slot.
func HoldsSlot(status string) bool { return status == StatusPending || status == StatusConfirmed }

// MaxNameLength is what appointments keep of a patient's or doctor's name:
// the user service's first and last names (150 characters each) joined by a
// space. The column is that wide (store/migrations/00002).
const MaxNameLength = 301

// MaxSlotDuration bounds APPOINTMENT_DURATION, so an appointment that
// overlaps [t, ...) starts after t - MaxSlotDuration: overlap checks read a
// bounded range of the time index.
const MaxSlotDuration = 12 * time.Hour

// Appointment is the spec's Appointment, plus the names used in notifications.
type Appointment struct {
	ID              int64      `json:"id"`
	PatientID       int64      `json:"patient_id"`
	DoctorID        int64      `json:"doctor_id"`
	AppointmentTime time.Time  `json:"appointment_time"`
	DurationMinutes int        `json:"duration_minutes"`
	Status          string     `json:"status"`
	ReasonForVisit  string     `json:"reason_for_visit"`
	NotesDoctor     string     `json:"notes_doctor"`
	PatientName     string     `json:"patient_name"`
	DoctorName      string     `json:"doctor_name"`
	ReminderSentAt  *time.Time `json:"reminder_sent_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// EndTime is when the appointment's slot ends.
func (a Appointment) EndTime() time.Time {
	return a.AppointmentTime.Add(time.Duration(a.DurationMinutes) * time.Minute)
}

// DoctorSchedule is one entry of a doctor's weekly schedule (spec). Times of
// day are the clinic's wall-clock times.
type DoctorSchedule struct {
	ID          int64     `json:"id"`
	DoctorID    int64     `json:"doctor_id"`
	DayOfWeek   int       `json:"day_of_week"`
	StartTime   string    `json:"start_time"`
	EndTime     string    `json:"end_time"`
	IsAvailable bool      `json:"is_available"`
	ValidFrom   string    `json:"valid_from"`
	ValidTo     *string   `json:"valid_to"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// TimeSlot is a free slot as the availability endpoint returns it (the
// spec's TimeSlot; computed, not stored).
type TimeSlot struct {
	DoctorID  int64     `json:"doctor_id"`
	StartTime time.Time `json:"start_time"`
	EndTime   time.Time `json:"end_time"`
	IsBooked  bool      `json:"is_booked"`
}

// AvailabilityDay is one clinic day of free slots.
type AvailabilityDay struct {
	Date  string     `json:"date"`
	Slots []TimeSlot `json:"slots"`
}

// Availability is the answer of GET /doctors/{id}/availability/.
type Availability struct {
	DoctorID        int64             `json:"doctor_id"`
	TimeZone        string            `json:"time_zone"`
	DurationMinutes int               `json:"duration_minutes"`
	Days            []AvailabilityDay `json:"days"`
}

// AvailabilityQuery asks for the free slots of Date (a clinic day; nil:
// today) and the DaysInAdvance days after it.
type AvailabilityQuery struct {
	Date          *time.Time
	DaysInAdvance int
}

// BookRequest is the spec's booking payload. patient_id is only for NURSE
// and ADMIN booking on a patient's behalf; a patient books for themself.
// appointment_time is RFC 3339, or a clinic wall-clock time without an
// offset ("2023-12-25T10:00:00", the spec's own example).
type BookRequest struct {
	DoctorID        int64  `json:"doctor_id" validate:"required,gt=0"`
	AppointmentTime string `json:"appointment_time" validate:"required,max=64"`
	ReasonForVisit  string `json:"reason_for_visit" validate:"max=2000"`
	PatientID       *int64 `json:"patient_id,omitempty" validate:"omitempty,gt=0"`
}

// UpdateRequest is what PUT /appointments/{id}/ may change.
type UpdateRequest struct {
	NotesDoctor    *string `json:"notes_doctor" validate:"omitempty,max=10000"`
	ReasonForVisit *string `json:"reason_for_visit" validate:"omitempty,max=2000"`
	// Status may only be NO_SHOW here (after the appointment's time); the
	// other transitions have their own endpoints.
	Status *string `json:"status" validate:"omitempty,oneof=NO_SHOW"`
}

// ScheduleRequest creates, or updates, the entry with the same doctor,
// day_of_week, start_time and valid_from.
type ScheduleRequest struct {
	DayOfWeek   *int    `json:"day_of_week" validate:"required,min=0,max=6"`
	StartTime   string  `json:"start_time" validate:"required,max=8"`
	EndTime     string  `json:"end_time" validate:"required,max=8"`
	IsAvailable *bool   `json:"is_available"`
	ValidFrom   string  `json:"valid_from" validate:"required,max=10"`
	ValidTo     *string `json:"valid_to" validate:"omitempty,max=10"`
}

// ListQuery is what a client may filter an appointment list by: statuses,
// and clinic days (Date alone, or From..To inclusive), each at midnight in
// the clinic's zone.
type ListQuery struct {
	Statuses       []string
	Date, From, To *time.Time
}

// ListFilter is a list query as the store runs it.
type ListFilter struct {
	PatientID int64
	DoctorID  int64
	Statuses  []string
	From, To  *time.Time // appointment_time in [From, To), UTC
}
