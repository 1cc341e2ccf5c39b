package booking

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func clock(s string) ClockTime {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func starts(d DaySlots, loc *time.Location) []string {
	var out []string
	for _, s := range d.Slots {
		out = append(out, s.Start.In(loc).Format("15:04"))
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

var hcm = mustLoc("Asia/Ho_Chi_Minh")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// 2026-12-07 is a Monday.
func TestFreeSlotsWeeklyScheduleAndValidity(t *testing.T) {
	to := day("2026-12-13")
	entries := []ScheduleEntry{
		{DayOfWeek: 0, Start: clock("08:00"), End: clock("10:15"), IsAvailable: true, ValidFrom: day("2026-12-01"), ValidTo: &to},
		{DayOfWeek: 2, Start: clock("13:00"), End: clock("14:00"), IsAvailable: true, ValidFrom: day("2026-12-09")},
	}
	got := FreeSlots(SlotQuery{Entries: entries, From: day("2026-12-07"), Days: 9, Location: hcm, Duration: 30 * time.Minute, Now: day("2026-01-01")})
	if len(got) != 9 || got[0].Date != "2026-12-07" || got[8].Date != "2026-12-15" {
		t.Fatalf("days: %+v", got)
	}
	equal(t, "monday in validity", starts(got[0], hcm), []string{"08:00", "08:30", "09:00", "09:30"}) // 10:00-10:30 overruns 10:15
	equal(t, "tuesday", starts(got[1], hcm), nil)
	equal(t, "wednesday from valid_from", starts(got[2], hcm), []string{"13:00", "13:30"})
	equal(t, "monday after valid_to", starts(got[7], hcm), nil)
	equal(t, "open-ended wednesday", starts(got[8], hcm), nil) // 15th is a Tuesday
	if s := got[0].Slots[0]; !s.Start.Equal(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)) || s.End.Sub(s.Start) != 30*time.Minute {
		t.Fatalf("slot in UTC: %+v", s)
	}
	wedBefore := FreeSlots(SlotQuery{Entries: entries, From: day("2026-12-02"), Days: 1, Location: hcm, Duration: 30 * time.Minute})
	equal(t, "wednesday before valid_from", starts(wedBefore[0], hcm), nil)
}

func TestFreeSlotsDayOffBookedAndPast(t *testing.T) {
	off := day("2026-12-14")
	entries := []ScheduleEntry{
		{DayOfWeek: 0, Start: clock("08:00"), End: clock("10:00"), IsAvailable: true, ValidFrom: day("2026-01-01")},
		{DayOfWeek: 0, Start: clock("08:00"), End: clock("10:00"), IsAvailable: true, ValidFrom: day("2026-06-01")}, // duplicate entry
		{DayOfWeek: 0, Start: clock("00:00"), End: clock("23:59"), IsAvailable: false, ValidFrom: off, ValidTo: &off},
		{DayOfWeek: 0, Start: clock("09:00"), End: clock("09:30"), IsAvailable: false, ValidFrom: day("2026-12-21")},
	}
	booked := []Interval{{Start: time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC), End: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)}}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, hcm) // exactly the first slot's start: it has begun
	got := FreeSlots(SlotQuery{Entries: entries, From: day("2026-12-07"), Days: 15, Location: hcm, Duration: 30 * time.Minute, Now: now, Booked: booked})
	equal(t, "past and booked removed, duplicates once", starts(got[0], hcm), []string{"09:00", "09:30"})
	equal(t, "day off", starts(got[7], hcm), nil)
	equal(t, "partial unavailability", starts(got[14], hcm), []string{"08:00", "08:30", "09:30"})
}

// A clinic east of UTC: the morning of a clinic day is the previous UTC day,
// and the weekday is the clinic's, not UTC's.
func TestFreeSlotsTimeZoneEdges(t *testing.T) {
	entries := []ScheduleEntry{{DayOfWeek: 0, Start: clock("06:00"), End: clock("07:00"), IsAvailable: true, ValidFrom: day("2026-01-01")}}
	got := FreeSlots(SlotQuery{Entries: entries, From: day("2026-12-07"), Days: 1, Location: hcm, Duration: 30 * time.Minute})
	if len(got[0].Slots) != 2 || !got[0].Slots[0].Start.Equal(time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)) {
		t.Fatalf("monday 06:00 in Ho Chi Minh is sunday 23:00 UTC: %+v", got[0].Slots)
	}
	if !IsFreeSlot(entries, time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC), hcm, 30*time.Minute, time.Time{}) {
		t.Fatal("sunday 23:30 UTC is a monday slot in the clinic")
	}
	if IsFreeSlot(entries, time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), hcm, 30*time.Minute, time.Time{}) {
		t.Fatal("06:00 UTC is 13:00 in the clinic: not a slot")
	}
	if IsFreeSlot(entries, time.Date(2026, 12, 6, 23, 15, 0, 0, time.UTC), hcm, 30*time.Minute, time.Time{}) {
		t.Fatal("off the grid")
	}
	// Daylight saving: on 2026-03-29 Berlin skips 02:00-03:00, on 2026-10-25
	// it repeats 02:00-03:00. Sunday = 6.
	ber := mustLoc("Europe/Berlin")
	night := []ScheduleEntry{{DayOfWeek: 6, Start: clock("01:00"), End: clock("04:00"), IsAvailable: true, ValidFrom: day("2026-01-01")}}
	spring := FreeSlots(SlotQuery{Entries: night, From: day("2026-03-29"), Days: 1, Location: ber, Duration: time.Hour})
	equal(t, "spring forward skips the missing hour", starts(spring[0], ber), []string{"01:00", "03:00"})
	if d := spring[0].Slots[0].End.Sub(spring[0].Slots[0].Start); d != time.Hour {
		t.Fatalf("01:00 slot lasts %s of real time, want 1h", d)
	}
	autumn := FreeSlots(SlotQuery{Entries: night, From: day("2026-10-25"), Days: 1, Location: ber, Duration: time.Hour})
	equal(t, "fall back", starts(autumn[0], ber), []string{"01:00", "02:00", "03:00"})
	for i := 1; i < len(autumn[0].Slots); i++ {
		if !autumn[0].Slots[i].Start.After(autumn[0].Slots[i-1].Start) {
			t.Fatal("slots out of order")
		}
	}
}

func TestParseClock(t *testing.T) {
	for in, want := range map[string]string{"08:00": "08:00:00", "23:59:00": "23:59:00", "00:00": "00:00:00"} {
		c, err := ParseClock(in)
		if err != nil || c.String() != want {
			t.Fatalf("%s: %v %v", in, c, err)
		}
	}
	for _, bad := range []string{"", "25:00", "08:00:30", "8am", "08:60"} {
		if _, err := ParseClock(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// BenchmarkFreeSlots: a week of a doctor working 07:00-19:00 every day, with
// half of the slots booked.
func BenchmarkFreeSlots(b *testing.B) {
	var entries []ScheduleEntry
	for d := range 7 {
		entries = append(entries, ScheduleEntry{DayOfWeek: d, Start: clock("07:00"), End: clock("19:00"), IsAvailable: true, ValidFrom: day("2026-01-01")})
	}
	var booked []Interval
	for i := 0; i < 7*24; i += 2 {
		s := time.Date(2026, 12, 7+i/24, 7, 30*(i%24), 0, 0, hcm).UTC()
		booked = append(booked, Interval{Start: s, End: s.Add(30 * time.Minute)})
	}
	q := SlotQuery{Entries: entries, From: day("2026-12-07"), Days: 7, Location: hcm, Duration: 30 * time.Minute, Booked: booked}
	for b.Loop() {
		if days := FreeSlots(q); len(days[0].Slots) != 12 {
			b.Fatalf("slots: %d", len(days[0].Slots))
		}
	}
}
