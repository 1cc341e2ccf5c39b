package booking

import (
	"context"
	"time"
)

// DashboardFigures is what the appointment service contributes to the
// admin dashboard (lib/adminapi.DashboardPath("appointments")): today's
// appointments (the clinic's day) by status.
type DashboardFigures struct {
	Day                  string `json:"day"`
	AppointmentsToday    int    `json:"appointments_today"`
	TodayPending         int    `json:"today_pending"`
	TodayConfirmed       int    `json:"today_confirmed"`
	TodayCompleted       int    `json:"today_completed"`
	TodayCancelled       int    `json:"today_cancelled"`
	TodayCancelledDoctor int    `json:"today_cancelled_by_doctor"`
	TodayNoShow          int    `json:"today_no_show"`
}

// Dashboard counts today's appointments by status.
func (s *Service) Dashboard(ctx context.Context) (DashboardFigures, error) {
	now := s.now().In(s.loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.loc)
	counts, err := s.store.CountByStatus(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		return DashboardFigures{}, err
	}
	f := DashboardFigures{Day: day.Format(time.DateOnly),
		TodayPending: counts[StatusPending], TodayConfirmed: counts[StatusConfirmed], TodayCompleted: counts[StatusCompleted],
		TodayCancelled:       counts[StatusCancelledPatient] + counts[StatusCancelledDoctor],
		TodayCancelledDoctor: counts[StatusCancelledDoctor], TodayNoShow: counts[StatusNoShow]}
	for _, n := range counts {
		f.AppointmentsToday += n
	}
	return f, nil
}
