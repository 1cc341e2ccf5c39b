package booking

import (
	"fmt"
	"sort"
	"time"
)

// Availability is computed here, from nothing but its arguments, so that it
// can be tested exhaustively without a database.

// ClockTime is a wall-clock time of day in the clinic's time zone, in minutes
// since midnight.
type ClockTime int

// ParseClock reads "HH:MM" or "HH:MM:SS" (seconds must be 0).
func ParseClock(s string) (ClockTime, error) {
	for _, layout := range []string{"15:04", "15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Second() != 0 {
				return 0, fmt.Errorf("time %q: seconds must be 0", s)
			}
			return ClockTime(t.Hour()*60 + t.Minute()), nil
		}
	}
	return 0, fmt.Errorf("time %q: use HH:MM", s)
}

// String is "HH:MM:SS" (as DRF serialises a TimeField).
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d:00", int(c)/60, int(c)%60) }

// DateLayout is the format of every date (YYYY-MM-DD).
const DateLayout = "2006-01-02"

// ScheduleEntry is one row of a doctor's weekly schedule, as the slot
// computation needs it.
type ScheduleEntry struct {
	DayOfWeek   int // 0 = Monday ... 6 = Sunday
	Start, End  ClockTime
	IsAvailable bool
	ValidFrom   time.Time  // a date: midnight UTC
	ValidTo     *time.Time // a date, inclusive; nil: open-ended
}

// appliesOn reports whether e covers the calendar day date (midnight UTC).
func (e ScheduleEntry) appliesOn(date time.Time) bool {
	if weekday(date) != e.DayOfWeek || date.Before(e.ValidFrom) {
		return false
	}
	return e.ValidTo == nil || !date.After(*e.ValidTo)
}

// weekday numbers days as the spec does: 0 = Monday ... 6 = Sunday.
func weekday(date time.Time) int { return (int(date.Weekday()) + 6) % 7 }

// Interval is a half-open span of time [Start, End), UTC.
type Interval struct {
	Start, End time.Time
}

func (i Interval) overlaps(o Interval) bool { return i.Start.Before(o.End) && o.Start.Before(i.End) }

// SlotQuery is everything availability depends on.
type SlotQuery struct {
	Entries  []ScheduleEntry
	From     time.Time // first calendar day (midnight UTC, read as a clinic date)
	Days     int       // number of days, at least 1
	Location *time.Location
	Duration time.Duration
	Now      time.Time
	Booked   []Interval // held by active appointments
}

// DaySlots is the free slots of one clinic day.
type DaySlots struct {
	Date  string     `json:"date"`
	Slots []Interval `json:"-"`
}

// FreeSlots cuts each available schedule entry of each day into slots of
// q.Duration, anchored at the entry's start; drops slots that overlap an
// unavailable entry (a day off), slots that do not exist in the clinic's
// time zone (a daylight-saving gap), slots that have started, and slots
// that overlap a booked interval. Each day's slots are sorted and unique.
func FreeSlots(q SlotQuery) []DaySlots {
	out := make([]DaySlots, 0, q.Days)
	step := int(q.Duration / time.Minute)
	for d := range q.Days {
		date := q.From.AddDate(0, 0, d)
		day := DaySlots{Date: date.Format(DateLayout)}
		if step <= 0 {
			out = append(out, day)
			continue
		}
		var blocked []Interval
		for _, e := range q.Entries {
			if !e.IsAvailable && e.appliesOn(date) {
				if iv, ok := localInterval(date, e.Start, e.End, q.Location); ok {
					blocked = append(blocked, iv)
				}
			}
		}
		seen := map[time.Time]bool{}
		for _, e := range q.Entries {
			if !e.IsAvailable || !e.appliesOn(date) {
				continue
			}
			for m := int(e.Start); m+step <= int(e.End); m += step {
				iv, ok := localInterval(date, ClockTime(m), ClockTime(m+step), q.Location)
				if !ok || seen[iv.Start] || !iv.Start.After(q.Now) || overlapsAny(iv, blocked) || overlapsAny(iv, q.Booked) {
					continue
				}
				seen[iv.Start] = true
				day.Slots = append(day.Slots, iv)
			}
		}
		sort.Slice(day.Slots, func(i, j int) bool { return day.Slots[i].Start.Before(day.Slots[j].Start) })
		out = append(out, day)
	}
	return out
}

// localInterval converts two wall-clock times of a clinic day to UTC; false
// when the start does not exist that day (daylight-saving gap).
func localInterval(date time.Time, start, end ClockTime, loc *time.Location) (Interval, bool) {
	s := time.Date(date.Year(), date.Month(), date.Day(), int(start)/60, int(start)%60, 0, 0, loc)
	if s.Hour() != int(start)/60 || s.Minute() != int(start)%60 {
		return Interval{}, false
	}
	e := time.Date(date.Year(), date.Month(), date.Day(), int(end)/60, int(end)%60, 0, 0, loc)
	if !e.After(s) {
		return Interval{}, false
	}
	return Interval{Start: s.UTC(), End: e.UTC()}, true
}

func overlapsAny(iv Interval, set []Interval) bool {
	for _, o := range set {
		if iv.overlaps(o) {
			return true
		}
	}
	return false
}

// ClinicDate is the clinic calendar day of t, as midnight UTC.
func ClinicDate(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// IsFreeSlot reports whether start begins a free slot of the schedule (ignoring
// bookings: the database decides those).
func IsFreeSlot(entries []ScheduleEntry, start time.Time, loc *time.Location, dur time.Duration, now time.Time) bool {
	days := FreeSlots(SlotQuery{Entries: entries, From: ClinicDate(start, loc), Days: 1, Location: loc, Duration: dur, Now: now})
	for _, s := range days[0].Slots {
		if s.Start.Equal(start) {
			return true
		}
	}
	return false
}
