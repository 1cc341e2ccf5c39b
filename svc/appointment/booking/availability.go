package booking

import (
	"context"
	"fmt"
	"time"

	"hospital/lib/apperr"
)

// Availability lists a doctor's free slots for a clinic day and the days
// after it. Any signed-in user may ask.
func (s *Service) Availability(ctx context.Context, doctorID int64, q AvailabilityQuery) (Availability, error) {
	if _, err := caller(ctx); err != nil {
		return Availability{}, err
	}
	if q.DaysInAdvance < 0 || q.DaysInAdvance > s.cfg.MaxDaysAhead {
		return Availability{}, apperr.Field("days_in_advance", fmt.Sprintf("Enter a whole number from 0 to %d.", s.cfg.MaxDaysAhead))
	}
	now := s.clock()
	from := ClinicDate(now, s.loc)
	if q.Date != nil {
		from = time.Date(q.Date.Year(), q.Date.Month(), q.Date.Day(), 0, 0, 0, 0, time.UTC)
	}
	if from.Year() < minYear || from.Year() > maxYear {
		return Availability{}, apperr.Field("date", fmt.Sprintf("Enter a date between %d and %d.", minYear, maxYear))
	}
	schedules, err := s.store.Schedules(ctx, doctorID)
	if err != nil {
		return Availability{}, err
	}
	days := q.DaysInAdvance + 1
	// The clinic days span at most these UTC instants (zones are within ±14h).
	window := Interval{Start: from.Add(-14 * time.Hour), End: from.AddDate(0, 0, days).Add(14 * time.Hour)}
	booked, err := s.store.BookedIntervals(ctx, doctorID, window)
	if err != nil {
		return Availability{}, err
	}
	free := FreeSlots(SlotQuery{Entries: scheduleEntries(schedules), From: from, Days: days, Location: s.loc,
		Duration: s.cfg.SlotDuration, Now: now, Booked: booked})
	out := Availability{DoctorID: doctorID, TimeZone: s.loc.String(), DurationMinutes: int(s.cfg.SlotDuration / time.Minute)}
	for _, d := range free {
		day := AvailabilityDay{Date: d.Date, Slots: make([]TimeSlot, 0, len(d.Slots))}
		for _, iv := range d.Slots {
			day.Slots = append(day.Slots, TimeSlot{DoctorID: doctorID, StartTime: iv.Start, EndTime: iv.End})
		}
		out.Days = append(out.Days, day)
	}
	return out, nil
}

// scheduleEntries converts stored entries for the slot computation.
func scheduleEntries(in []DoctorSchedule) []ScheduleEntry {
	out := make([]ScheduleEntry, 0, len(in))
	for _, s := range in {
		start, err1 := ParseClock(s.StartTime)
		end, err2 := ParseClock(s.EndTime)
		from, err3 := time.Parse(DateLayout, s.ValidFrom)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		e := ScheduleEntry{DayOfWeek: s.DayOfWeek, Start: start, End: end, IsAvailable: s.IsAvailable, ValidFrom: from}
		if s.ValidTo != nil {
			if to, err := time.Parse(DateLayout, *s.ValidTo); err == nil {
				e.ValidTo = &to
			}
		}
		out = append(out, e)
	}
	return out
}
