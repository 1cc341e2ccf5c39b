package notify

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"time"

	"hospital/lib/auth"
)

// The delivery log as the API shows it: ADMIN sees everything, a sending
// service the logs of its own requests without their content.

// logIDPattern is the shape of every log id (logIDFor); anything else names
// no log and is not looked up.
var logIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)

// logViewer says what the caller may see: full content, and whose logs.
func logViewer(ctx context.Context) (full bool, onlyFor string, err error) {
	id, err := caller(ctx)
	if err != nil {
		return false, "", err
	}
	switch {
	case id.HasRole(auth.RoleAdmin):
		return true, "", nil
	case id.IsService():
		return false, requestedByOf(id), nil
	}
	return false, "", errAdminOnly
}

// ListLogs is the log list, newest first.
func (s *Service) ListLogs(ctx context.Context, f LogFilter) ([]LogView, int, error) {
	full, onlyFor, err := logViewer(ctx)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case f.Channel != "" && !slices.Contains(Channels, f.Channel):
		return nil, 0, errBadChannel
	case f.Status != "" && !slices.Contains(Statuses, f.Status):
		return nil, 0, errBadStatus
	case f.NotificationType != "" && !notificationTypePattern.MatchString(f.NotificationType):
		return nil, 0, errBadTypeFilter
	}
	f.RequestedBy = onlyFor
	logs, n, err := s.store.ListLogs(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	if full {
		if err := s.loadContents(ctx, logs); err != nil {
			return nil, 0, err
		}
		if err := s.audited(ctx, listEvents(ctx, f, logs, n)...); err != nil {
			return nil, 0, err
		}
	}
	out := make([]LogView, 0, len(logs))
	for _, l := range logs {
		out = append(out, l.View(full))
	}
	return out, n, nil
}

// GetLog is one log; another service's log does not exist for the caller.
func (s *Service) GetLog(ctx context.Context, id string) (LogView, error) {
	full, onlyFor, err := logViewer(ctx)
	if err != nil {
		return LogView{}, err
	}
	if !logIDPattern.MatchString(id) {
		return LogView{}, errLogNotFound
	}
	l, err := s.store.GetLog(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && onlyFor != "" && l.RequestedBy != onlyFor) {
		return LogView{}, errLogNotFound
	}
	if err != nil {
		return LogView{}, err
	}
	if full {
		logs := []Log{l}
		if err := s.loadContents(ctx, logs); err != nil {
			return LogView{}, err
		}
		l = logs[0]
		if err := s.audited(ctx, logEvent(ctx, ActionLogRead, l).With("content", l.Content != nil)); err != nil {
			return LogView{}, err
		}
	}
	return l.View(full), nil
}

// loadContents fills in the content of the logs that keep one.
func (s *Service) loadContents(ctx context.Context, logs []Log) error {
	var ids []string
	for _, l := range logs {
		if l.HasContent && l.Content == nil {
			ids = append(ids, l.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	contents, err := s.store.Contents(ctx, ids)
	if err != nil {
		return err
	}
	for i := range logs {
		if c, ok := contents[logs[i].ID]; ok {
			logs[i].Content = c
		}
	}
	return nil
}

// RetryLog puts a FAILED log back in the queue with a fresh set of
// attempts. A log without content (sensitive, or purged) cannot be sent
// again from here: its sender must send it again.
func (s *Service) RetryLog(ctx context.Context, id string) (LogView, error) {
	if err := requireAdmin(ctx); err != nil {
		return LogView{}, err
	}
	if !logIDPattern.MatchString(id) {
		return LogView{}, errLogNotFound
	}
	var seen time.Time
	for range changeAttempts {
		l, err := s.store.GetLog(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return LogView{}, errLogNotFound
		}
		if err != nil {
			return LogView{}, err
		}
		switch {
		case l.Status != StatusFailed:
			return LogView{}, errRetryNotFailed(l.Status)
		case l.RecipientContact == "":
			return LogView{}, errNeverAddressed
		case !l.HasContent:
			return LogView{}, errNoContent
		case l.UpdatedAt.Equal(seen):
			return LogView{}, errLogBusy // the retry that got in is not made yet
		}
		seen = l.UpdatedAt
		now := s.after(l.UpdatedAt)
		// A FAILED log has no delivery in progress: no claim holder writes
		// it, only a change decided on this very version.
		err = s.store.RetryLog(ctx, l, now, logEvent(ctx, ActionLogRetry, l).With("attempts_before", l.Attempts).Message())
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return LogView{}, err
		}
		l.Status, l.Attempts, l.NextAttemptAt, l.UpdatedAt, l.ErrorMessage, l.Holder = StatusPending, 0, now, now, nil, ""
		logs := []Log{l}
		if err := s.loadContents(ctx, logs); err != nil {
			return LogView{}, err
		}
		l = logs[0]
		s.worker.Enqueue(logs)
		s.log.InfoContext(ctx, "notification queued again by an administrator", "log_id", id)
		return l.View(true), nil
	}
	return LogView{}, errLogBusy
}
