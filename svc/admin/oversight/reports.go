package oversight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/dates"
)

// The reports are the daily activity of the platform as the audit log
// records it: per clinic day and service, how many events, reads of
// patients' data, denials, failures and break-glass accesses, and how many
// distinct patients and users. They come from the log alone, so any day can
// be recalculated at any time with the same result; the dashboard shows the
// last week of them. The task runner refreshes yesterday and today on its
// own every REPORT_INTERVAL; POST .../tasks/recalculate-reports/ redoes
// any range (after events that waited in a service's outbox arrived late,
// for instance).

// defaultReportDays is the range of a recalculation that names none.
const defaultReportDays = 30

// RequestRecalculation queues a recalculation of the reports over in's
// days and returns its task. While one is pending or running, a request
// for the same days joins it (the same task comes back) and one for other
// days is refused: a recalculation runs once, on one instance.
func (s *Service) RequestRecalculation(ctx context.Context, in RecalculateRequest) (Task, bool, error) {
	c, err := auth.Caller(ctx)
	if err != nil {
		return Task{}, false, err
	}
	from, to, err := s.reportRange(in)
	if err != nil {
		return Task{}, false, err
	}
	params, _ := json.Marshal(RecalculateRequest{DateFrom: from.Format(time.DateOnly), DateTo: to.Format(time.DateOnly)})
	t, created, err := s.store.CreateTask(ctx, Task{Type: TaskRecalculateReports, Status: TaskPending, Params: params,
		RequestedBy: positive(c.UserID), CreatedAt: microseconds(s.now()), Progress: Progress{Total: days(from, to)}})
	if err != nil {
		return Task{}, false, err
	}
	if !created && string(t.Params) != string(params) {
		return Task{}, false, errTaskBusy.With("task_id", t.ID)
	}
	if created {
		ev := audit.New(ctx, ServiceName, actionTaskCreate).On("task", strconv.FormatInt(t.ID, 10)).
			With("task_type", t.Type).With("params", json.RawMessage(params))
		if err := s.record(ctx, ev); err != nil {
			return Task{}, false, err
		}
	}
	return t, created, nil
}

// Task returns one task and how far it got.
func (s *Service) Task(ctx context.Context, id int64) (Task, error) {
	t, err := s.store.Task(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Task{}, errTaskNotFound
	}
	return t, err
}

// reportRange is the clinic days of a recalculation, checked.
func (s *Service) reportRange(in RecalculateRequest) (time.Time, time.Time, error) {
	today := s.today()
	to := today
	from := today.AddDate(0, 0, -(defaultReportDays - 1))
	var err error
	if in.DateTo != "" {
		if to, err = dates.Parse(in.DateTo, s.loc); err != nil {
			return from, to, apperr.Field("date_to", err.Error())
		}
		if in.DateFrom == "" {
			from = to.AddDate(0, 0, -(defaultReportDays - 1))
		}
	}
	if in.DateFrom != "" {
		if from, err = dates.Parse(in.DateFrom, s.loc); err != nil {
			return from, to, apperr.Field("date_from", err.Error())
		}
	}
	switch {
	case to.After(today):
		return from, to, apperr.Field("date_to", "Must not be after today ("+today.Format(time.DateOnly)+").")
	case to.Before(from):
		return from, to, errRangeOrder
	case days(from, to) > s.cfg.ReportMaxDays:
		return from, to, apperr.Field("date_from", fmt.Sprintf("At most %d days at once.", s.cfg.ReportMaxDays))
	}
	return from, to, nil
}

// today is the clinic day now, at midnight in the clinic's zone.
func (s *Service) today() time.Time {
	n := s.now().In(s.loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.loc)
}

// days counts the days from from to to, both included.
func days(from, to time.Time) int {
	n := 0
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// RunTasks is the task runner: it runs pending tasks one after another and
// refreshes the recent reports every REPORT_INTERVAL, until ctx ends. One
// instance runs it at a time (main elects it with lib/leader); a task it
// was running when it stopped stays RUNNING and the next runner starts it
// again (recalculating a day twice gives the same rows).
func (s *Service) RunTasks(ctx context.Context) {
	var refreshed time.Time
	for ctx.Err() == nil {
		t, ok, err := s.store.NextTask(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("task runner: next task", "err", err.Error())
		case ok:
			s.runTask(ctx, t)
			continue
		}
		if time.Since(refreshed) >= s.cfg.ReportInterval {
			today := s.today()
			if _, err := s.recalculate(ctx, 0, today.AddDate(0, 0, -1), today); err != nil && ctx.Err() == nil {
				s.log.Warn("task runner: refreshing recent reports", "err", err.Error())
			} else {
				refreshed = time.Now()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.TaskPollInterval):
		}
	}
}

func (s *Service) runTask(ctx context.Context, t Task) {
	log := s.log.With("task_id", t.ID, "task_type", t.Type)
	if err := s.store.StartTask(ctx, t.ID, s.instance, microseconds(s.now())); err != nil {
		log.Warn("task runner: start", "err", err.Error())
		sleepCtx(ctx, s.cfg.TaskPollInterval)
		return
	}
	log.Info("task started", "runs_before", t.Runs)
	var result any
	var err error
	switch t.Type {
	case TaskRecalculateReports:
		result, err = s.runRecalculation(ctx, t)
	default:
		err = fmt.Errorf("unknown task type %q", t.Type)
	}
	if ctx.Err() != nil {
		log.Info("task interrupted: the next runner starts it again")
		return
	}
	status, msg, body := TaskSucceeded, "", []byte(nil)
	if err != nil {
		status, msg = TaskFailed, "The task failed; the admin service's log has the details."
		log.Error("task failed", "err", err.Error())
	} else {
		body, _ = json.Marshal(result)
	}
	if err := s.store.FinishTask(ctx, t.ID, status, body, msg, microseconds(s.now())); err != nil {
		log.Warn("task runner: finish", "err", err.Error())
		return
	}
	log.Info("task finished", "status", status)
}

func (s *Service) runRecalculation(ctx context.Context, t Task) (RecalculateResult, error) {
	var in RecalculateRequest
	if err := json.Unmarshal(t.Params, &in); err != nil {
		return RecalculateResult{}, fmt.Errorf("task %d params: %w", t.ID, err)
	}
	from, err1 := dates.Parse(in.DateFrom, s.loc)
	to, err2 := dates.Parse(in.DateTo, s.loc)
	if err := errors.Join(err1, err2); err != nil {
		return RecalculateResult{}, fmt.Errorf("task %d params: %w", t.ID, err)
	}
	return s.recalculate(ctx, t.ID, from, to)
}

// recalculate replaces the reports of the clinic days from..to, recording
// the progress of task (0: none).
func (s *Service) recalculate(ctx context.Context, task int64, from, to time.Time) (RecalculateResult, error) {
	res := RecalculateResult{}
	services := map[string]bool{}
	total := days(from, to)
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		start, end := d.UTC(), time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, s.loc).UTC()
		rows, events, err := s.store.ReplaceDay(ctx, day, start, end, microseconds(s.now()))
		if err != nil {
			return res, fmt.Errorf("recalculate %s: %w", day, err)
		}
		res.Days++
		res.Rows += rows
		res.Events += events
		if task != 0 {
			if err := s.store.TaskProgress(ctx, task, Progress{Done: res.Days, Total: total}); err != nil {
				return res, err
			}
		}
	}
	rows, err := s.store.Activity(ctx, ActivityFilter{From: from, To: to})
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		services[r.Service] = true
	}
	res.Services = len(services)
	return res, nil
}

// Activity returns the report rows of the clinic days from..to (inclusive;
// by default the 30 days up to today, or up to to), of one service when
// service is not empty.
func (s *Service) Activity(ctx context.Context, from, to *time.Time, service string) ([]DailyActivity, error) {
	last := s.today()
	if to != nil {
		last = *to
	}
	first := last.AddDate(0, 0, -(defaultReportDays - 1))
	if from != nil {
		first = *from
	}
	if last.Before(first) {
		return nil, errRangeOrder
	}
	if days(first, last) > s.cfg.ReportMaxDays {
		return nil, apperr.Field("date_from", fmt.Sprintf("At most %d days at once.", s.cfg.ReportMaxDays))
	}
	return s.store.Activity(ctx, ActivityFilter{From: first, To: last, Service: service})
}

// recentActivity is the last week of reports, one total per day (days
// without activity included), newest first.
func (s *Service) recentActivity(ctx context.Context) ([]DayTotals, error) {
	today := s.today()
	from := today.AddDate(0, 0, -(activityDays - 1))
	rows, err := s.store.Activity(ctx, ActivityFilter{From: from, To: today})
	if err != nil {
		return nil, err
	}
	byDay := map[string]*DayTotals{}
	out := make([]DayTotals, 0, activityDays)
	for d := today; !d.Before(from); d = d.AddDate(0, 0, -1) {
		out = append(out, DayTotals{Day: d.Format(time.DateOnly)})
	}
	for i := range out {
		byDay[out[i].Day] = &out[i]
	}
	for _, r := range rows {
		if t := byDay[r.Day]; t != nil {
			t.Events += r.Events
			t.PatientReads += r.PatientReads
			t.Denied += r.Denied
			t.Failed += r.Failed
			t.BreakGlass += r.BreakGlass
			t.Patients += r.Patients
			t.Users += r.Users
		}
	}
	return out, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
