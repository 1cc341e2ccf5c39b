package oversight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"hospital/lib/adminapi"
	"hospital/lib/svcclient"
)

// AuditSection is the dashboard section the admin service fills itself,
// from its audit log.
const AuditSection = "audit"

// activityDays is how many days of reports the dashboard shows.
const activityDays = 7

// Dashboard asks every service for its figures at once and waits for each
// at most DASHBOARD_TIMEOUT: a service that is down, failing or slow makes
// its section unavailable (with the reason), never the dashboard. The
// audit section and the recent activity come from the admin database,
// under the same deadline.
func (s *Service) Dashboard(ctx context.Context) (Summary, error) {
	out := Summary{GeneratedAt: s.now().UTC(), Sections: map[string]Section{}, Activity: []DayTotals{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	put := func(name string, sec Section) {
		mu.Lock()
		out.Sections[name] = sec
		mu.Unlock()
	}
	for _, sec := range adminapi.Sections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			put(sec.Name, s.section(ctx, sec))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		put(AuditSection, s.auditSection(ctx))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		actx, cancel := context.WithTimeout(ctx, s.cfg.DashboardTimeout)
		defer cancel()
		if days, err := s.recentActivity(actx); err == nil {
			out.Activity = days
		} else {
			s.log.Warn("dashboard: recent activity unavailable", "err", err.Error())
		}
	}()
	wg.Wait()
	return out, nil
}

func (s *Service) section(ctx context.Context, sec adminapi.Section) Section {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.DashboardTimeout)
	defer cancel()
	start := time.Now()
	figures, err := s.figures.Figures(cctx, sec)
	took := time.Since(start).Milliseconds()
	if err != nil {
		reason := s.unavailableReason(cctx, sec, err)
		s.log.Warn("dashboard: section unavailable", "section", sec.Name, "reason", reason, "err", err.Error())
		return Section{Available: false, Reason: reason, TookMS: took}
	}
	return Section{Available: true, Figures: figures, TookMS: took}
}

// unavailableReason tells an administrator why a section is missing,
// without the internals of the error.
func (s *Service) unavailableReason(ctx context.Context, sec adminapi.Section, err error) string {
	var unavailable *svcclient.UnavailableError
	var status *svcclient.StatusError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer within %s", sec.Service, s.cfg.DashboardTimeout)
	case errors.As(err, &unavailable) && unavailable.Reason == svcclient.ReasonNoInstance:
		return fmt.Sprintf("%s has no healthy instance", sec.Service)
	case errors.As(err, &unavailable) && unavailable.Reason == svcclient.ReasonBreakerOpen:
		return fmt.Sprintf("%s is failing: calls to it are paused", sec.Service)
	case errors.As(err, &unavailable):
		return fmt.Sprintf("%s could not be reached", sec.Service)
	case errors.As(err, &status) && status.Status == http.StatusNotFound:
		return fmt.Sprintf("%s does not serve dashboard figures", sec.Service)
	case errors.As(err, &status):
		return fmt.Sprintf("%s answered %d", sec.Service, status.Status)
	case errors.Is(err, context.Canceled):
		return "the request was cancelled"
	}
	return fmt.Sprintf("%s's answer could not be read", sec.Service)
}

// auditSection is what the audit log recorded over the last 24 hours and
// how long the chain is.
func (s *Service) auditSection(ctx context.Context) Section {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.DashboardTimeout)
	defer cancel()
	start := time.Now()
	now := s.now().UTC()
	counts, err := s.store.CountsBetween(cctx, now.Add(-24*time.Hour), now.Add(time.Second))
	var head ChainHead
	if err == nil {
		head, err = s.store.Head(cctx)
	}
	took := time.Since(start).Milliseconds()
	if err != nil {
		s.log.Warn("dashboard: audit section unavailable", "err", err.Error())
		return Section{Available: false, Reason: "the admin database did not answer", TookMS: took}
	}
	figures := map[string]any{
		"events_last_24h": counts.Events, "patient_reads_last_24h": counts.PatientReads,
		"denied_last_24h": counts.Denied, "failed_last_24h": counts.Failed,
		"break_glass_last_24h": counts.BreakGlass, "chain_length": head.Position,
	}
	raw := make(map[string]json.RawMessage, len(figures))
	for k, v := range figures {
		raw[k], _ = json.Marshal(v)
	}
	return Section{Available: true, Figures: raw, TookMS: took}
}
