package booking

import (
	"context"
	"errors"
	"strconv"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/userapi"
)

// canManageSchedule: the doctor themself or an admin.
func canManageSchedule(c auth.Identity, doctorID int64) bool {
	return c.Role == auth.RoleAdmin || (c.Role == auth.RoleDoctor && c.IsUser(doctorID))
}

// Schedule returns a doctor's schedule: that doctor, nurses and admins.
func (s *Service) Schedule(ctx context.Context, doctorID int64) ([]DoctorSchedule, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if !canManageSchedule(c, doctorID) && c.Role != auth.RoleNurse {
		return nil, errForbidden
	}
	out, err := s.store.Schedules(ctx, doctorID)
	if out == nil {
		out = []DoctorSchedule{}
	}
	return out, err
}

// SaveSchedule creates an entry, or updates the one with the same
// day_of_week, start_time and valid_from: that doctor or an admin.
func (s *Service) SaveSchedule(ctx context.Context, doctorID int64, in ScheduleRequest) (DoctorSchedule, bool, error) {
	c, err := caller(ctx)
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	if !canManageSchedule(c, doctorID) {
		return DoctorSchedule{}, false, errForbidden
	}
	entry, err := scheduleEntry(doctorID, in)
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	if c.Role == auth.RoleAdmin {
		// A doctor saving their own schedule is known to be a doctor.
		u, err := s.users.User(ctx, doctorID)
		if errors.Is(err, userapi.ErrNotFound) || (err == nil && u.Role != auth.RoleDoctor) {
			return DoctorSchedule{}, false, errNoSuchDoctor
		}
		if err != nil {
			return DoctorSchedule{}, false, err
		}
	}
	ev := audit.New(ctx, ServiceName, actionSchedule).On("doctor", strconv.FormatInt(doctorID, 10)).
		With("day_of_week", entry.DayOfWeek).With("start_time", entry.StartTime).With("valid_from", entry.ValidFrom)
	out, created, err := s.store.SaveSchedule(ctx, entry, s.clock(), ev.Message())
	if err != nil {
		return DoctorSchedule{}, false, err
	}
	s.kick()
	return out, created, nil
}

// scheduleEntry checks a schedule request field by field.
func scheduleEntry(doctorID int64, in ScheduleRequest) (DoctorSchedule, error) {
	errs := map[string][]string{}
	const badTime, badDate = "Time has wrong format. Use HH:MM.", "Enter a valid date in the format YYYY-MM-DD, between 1900 and 2200."
	start, err := ParseClock(in.StartTime)
	if err != nil {
		errs["start_time"] = []string{badTime}
	}
	end, err := ParseClock(in.EndTime)
	if err != nil {
		errs["end_time"] = []string{badTime}
	} else if len(errs) == 0 && end <= start {
		errs["end_time"] = []string{"end_time must be after start_time."}
	}
	from, err := parseDay(in.ValidFrom)
	if err != nil {
		errs["valid_from"] = []string{badDate}
	}
	if in.ValidTo != nil {
		to, err := parseDay(*in.ValidTo)
		if err != nil {
			errs["valid_to"] = []string{badDate}
		} else if len(errs) == 0 && to.Before(from) {
			errs["valid_to"] = []string{"valid_to must not be before valid_from."}
		}
	}
	if len(errs) > 0 {
		return DoctorSchedule{}, apperr.Validation(errs)
	}
	return DoctorSchedule{
		DoctorID: doctorID, DayOfWeek: *in.DayOfWeek, StartTime: start.String(), EndTime: end.String(),
		IsAvailable: in.IsAvailable == nil || *in.IsAvailable, ValidFrom: from.Format(DateLayout), ValidTo: in.ValidTo,
	}, nil
}

// Calendar dates the service accepts: the same years as lib/httpx's date
// queries, so date arithmetic and the DATE columns never overflow.
const minYear, maxYear = 1900, 2200

// parseDay reads a calendar date (YYYY-MM-DD) as midnight UTC.
func parseDay(v string) (time.Time, error) {
	d, err := time.Parse(DateLayout, v)
	if err != nil {
		return d, err
	}
	if d.Year() < minYear || d.Year() > maxYear {
		return d, errors.New("year out of range")
	}
	return d, nil
}
