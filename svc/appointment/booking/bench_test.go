package booking_test

import (
	"sync/atomic"
	"testing"
	"time"

	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
)

// BenchmarkBook books distinct slots of two doctors in parallel through the
// domain Service against the real store (no HTTP): what one booking costs
// the service and MariaDB.
func BenchmarkBook(b *testing.B) {
	cfg := bt.Config()
	cfg.MaxOpenPerPatient = 1 << 30
	cfg.BookingHorizonDays = 3650
	cfg.UserCacheTTL = 30 * time.Second
	e := bt.New(b, &cfg)
	doctors := []int64{e.DoctorA, e.DoctorB}
	for _, d := range doctors {
		for day := range 7 {
			if _, _, err := e.Svc.SaveSchedule(e.As(d), d, booking.ScheduleRequest{DayOfWeek: &day, StartTime: "00:00", EndTime: "23:30", ValidFrom: "2026-01-01"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	first := time.Date(2026, 12, 8, 0, 0, 0, 0, bt.Clinic)
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1) - 1
			d := int(i % 2)
			k := int(i / 2)
			at := first.AddDate(0, 0, k/47).Add(time.Duration(k%47) * 30 * time.Minute)
			// Patient d books only with doctor d, so no booking overlaps another of theirs.
			if _, err := e.Book(e.Many[d], doctors[d], at.Format(time.RFC3339)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
