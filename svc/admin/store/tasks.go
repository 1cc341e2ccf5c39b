package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"hospital/lib/mysqldb"
	"hospital/svc/admin/oversight"
)

const taskCols = `id, task_type, status, params, progress_done, progress_total, result, error, requested_by,
	runner, runs, created_at, started_at, finished_at`

func scanTask(s scanner) (oversight.Task, error) {
	var (
		t                 oversight.Task
		params            []byte
		result, errMsg    sql.NullString
		by                sql.NullInt64
		started, finished sql.NullTime
	)
	err := s.Scan(&t.ID, &t.Type, &t.Status, &params, &t.Progress.Done, &t.Progress.Total, &result, &errMsg, &by,
		&t.Runner, &t.Runs, &t.CreatedAt, &started, &finished)
	t.Params = params
	if result.Valid {
		t.Result = []byte(result.String)
	}
	t.Error = errMsg.String
	if by.Valid {
		t.RequestedBy = &by.Int64
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if started.Valid {
		v := started.Time.UTC()
		t.StartedAt = &v
	}
	if finished.Valid {
		v := finished.Time.UTC()
		t.FinishedAt = &v
	}
	return t, err
}

// CreateTask inserts t unless a task of its type is active: the unique
// active_key admits one. A task that finishes between the refused insert
// and the read of the active one frees the key: the insert is tried again.
func (s *Store) CreateTask(ctx context.Context, t oversight.Task) (oversight.Task, bool, error) {
	for range 5 {
		res, err := s.db.ExecContext(ctx, `INSERT INTO tasks (task_type, status, active_key, params, progress_total,
			requested_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.Type, oversight.TaskPending, t.Type, string(t.Params), t.Progress.Total, nullable(t.RequestedBy), t.CreatedAt)
		if err == nil {
			id, err := res.LastInsertId()
			if err != nil {
				return t, false, wrap(err, "create task")
			}
			created, err := s.Task(ctx, id)
			return created, true, err
		}
		if !mysqldb.IsDuplicate(err) {
			return t, false, wrap(err, "create task")
		}
		active, err := scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE active_key = ?`, t.Type))
		if err == nil {
			return active, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return t, false, wrap(err, "read active %s task", t.Type)
		}
	}
	return t, false, errors.New("create task: the active task kept changing")
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id int64) (oversight.Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, oversight.ErrNotFound
	}
	return t, wrap(err, "read task %d", id)
}

// NextTask is the oldest active task. A RUNNING one is only ever seen by a
// runner that is not running it: only one runner runs at a time, and it
// runs tasks one after another.
func (s *Store) NextTask(ctx context.Context) (oversight.Task, bool, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE active_key IS NOT NULL ORDER BY id LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	return t, err == nil, wrap(err, "next task")
}

func (s *Store) StartTask(ctx context.Context, id int64, runner string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tasks SET status = ?, runner = ?, runs = runs + 1, started_at = ?, progress_done = 0
		WHERE id = ? AND active_key IS NOT NULL`, oversight.TaskRunning, runner, now, id)
	return wrap(err, "start task %d", id)
}

func (s *Store) TaskProgress(ctx context.Context, id int64, p oversight.Progress) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tasks SET progress_done = ?, progress_total = ? WHERE id = ?`, p.Done, p.Total, id)
	return wrap(err, "task %d progress", id)
}

func (s *Store) FinishTask(ctx context.Context, id int64, status string, result []byte, errMsg string, now time.Time) error {
	var res, msg any
	if result != nil {
		res = string(result)
	}
	if errMsg != "" {
		msg = errMsg
	}
	_, err := s.db.ExecContext(ctx, `UPDATE tasks SET status = ?, active_key = NULL, result = ?, error = ?, finished_at = ?
		WHERE id = ?`, status, res, msg, now, id)
	return wrap(err, "finish task %d", id)
}
