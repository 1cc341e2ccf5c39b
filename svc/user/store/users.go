package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"hospital/svc/user/accounts"
)

const userColumns = `u.id, u.username, u.password, u.email, u.phone_number, u.first_name, u.last_name,
	r.name, u.is_active, u.is_staff, u.date_joined, u.profile_picture_url, u.sex, u.date_of_birth,
	u.email_verified, u.pending_email, u.language, u.push_token`

const userFrom = ` FROM users u JOIN roles r ON r.id = u.role_id`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (accounts.Account, error) {
	var (
		a                              accounts.Account
		phone, pic, sex, pending, push sql.NullString
		born                           sql.NullTime
	)
	err := s.Scan(&a.ID, &a.Username, &a.PasswordHash, &a.Email, &phone, &a.FirstName, &a.LastName,
		&a.Role, &a.IsActive, &a.IsStaff, &a.DateJoined, &pic, &sex, &born,
		&a.EmailVerified, &pending, &a.Language, &push)
	if err != nil {
		return a, notFound(err)
	}
	a.PhoneNumber, a.ProfilePictureURL = nullable(phone), nullable(pic)
	a.Sex, a.PendingEmail, a.PushToken = nullable(sex), nullable(pending), nullable(push)
	if born.Valid {
		d := born.Time.Format(time.DateOnly)
		a.DateOfBirth = &d
	}
	a.DateJoined = a.DateJoined.UTC()
	return a, nil
}

func nullable(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func (s *Store) account(ctx context.Context, where string, arg any) (accounts.Account, error) {
	a, err := scanAccount(s.q().QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE `+where, arg))
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return a, fmt.Errorf("read user: %w", err)
	}
	return a, err
}

// UserByID implements accounts.Users.
func (s *Store) UserByID(ctx context.Context, id int64) (accounts.Account, error) {
	return s.account(ctx, `u.id = ?`, id)
}

// UserByIDForUpdate implements accounts.Users.
func (s *Store) UserByIDForUpdate(ctx context.Context, id int64) (accounts.Account, error) {
	return s.account(ctx, `u.id = ? FOR UPDATE`, id)
}

// UserByIDShared implements accounts.Users.
func (s *Store) UserByIDShared(ctx context.Context, id int64) (accounts.Account, error) {
	return s.account(ctx, `u.id = ? LOCK IN SHARE MODE`, id)
}

// UserByUsername implements accounts.Users (case-insensitive, as the column's collation).
func (s *Store) UserByUsername(ctx context.Context, username string) (accounts.Account, error) {
	return s.account(ctx, `u.username = ?`, username)
}

// UserByEmail implements accounts.Users.
func (s *Store) UserByEmail(ctx context.Context, email string) (accounts.Account, error) {
	return s.account(ctx, `u.email = ?`, email)
}

// InsertUser implements accounts.Users.
func (s *Store) InsertUser(ctx context.Context, n accounts.NewAccount) (int64, error) {
	res, err := s.q().ExecContext(ctx, `INSERT INTO users
		(username, password, email, phone_number, first_name, last_name, sex, date_of_birth, role_id, is_active, is_staff, date_joined)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, id, 1, ?, ? FROM roles WHERE name = ?`,
		n.Username, n.PasswordHash, n.Email, n.Phone, n.FirstName, n.LastName, n.Sex, n.DateOfBirth, n.IsStaff, n.DateJoined, n.Role)
	if err != nil {
		return 0, taken(err, "insert user")
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		return 0, fmt.Errorf("insert user: no role %q", n.Role)
	}
	return res.LastInsertId()
}

// taken turns a unique-key violation on a user field into *accounts.TakenError.
func taken(err error, what string) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		return fmt.Errorf("%s: %w", what, err)
	}
	for key, field := range map[string]string{
		"uq_users_username": "username", "uq_users_email": "email", "uq_users_phone_number": "phone_number",
	} {
		if strings.Contains(me.Message, key) {
			return &accounts.TakenError{Field: field}
		}
	}
	return &accounts.TakenError{}
}

// TakenFields implements accounts.Users.
func (s *Store) TakenFields(ctx context.Context, username, email string, phone *string, except int64) (map[string]bool, error) {
	out := map[string]bool{}
	check := func(field string, v any) error {
		var n int
		err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+field+` = ? AND id <> ?`, v, except).Scan(&n)
		if err != nil {
			return fmt.Errorf("check %s: %w", field, err)
		}
		if n > 0 {
			out[field] = true
		}
		return nil
	}
	if username != "" {
		if err := check("username", username); err != nil {
			return nil, err
		}
	}
	if email != "" {
		if err := check("email", email); err != nil {
			return nil, err
		}
	}
	if phone != nil {
		if err := check("phone_number", *phone); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListUsers implements accounts.Users: filtered, ordered by id, one page.
func (s *Store) ListUsers(ctx context.Context, f accounts.ListFilter) ([]accounts.User, int, error) {
	var (
		where []string
		args  []any
	)
	if f.Role != "" {
		where = append(where, "r.name = ?")
		args = append(args, f.Role)
	}
	if f.IsActive != nil {
		where = append(where, "u.is_active = ?")
		args = append(args, *f.IsActive)
	}
	if f.Search != "" {
		like := "%" + escapeLike(f.Search) + "%"
		where = append(where, `(u.username LIKE ? OR u.email LIKE ? OR u.first_name LIKE ? OR u.last_name LIKE ?
			OR CONCAT(u.first_name, ' ', u.last_name) LIKE ?)`)
		args = append(args, like, like, like, like, like)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var count int
	if err := s.q().QueryRowContext(ctx, `SELECT COUNT(*)`+userFrom+cond, args...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := s.q().QueryContext(ctx, `SELECT `+userColumns+userFrom+cond+` ORDER BY u.id LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []accounts.User
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list users: %w", err)
		}
		out = append(out, a.User)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return out, count, nil
}

// escapeLike makes s match literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SetPassword implements accounts.Users.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string) error {
	return exec(ctx, s.q(), "set password", `UPDATE users SET password = ? WHERE id = ?`, hash, userID)
}

// SetActive implements accounts.Users.
func (s *Store) SetActive(ctx context.Context, userID int64, active bool) error {
	return exec(ctx, s.q(), "set is_active", `UPDATE users SET is_active = ? WHERE id = ?`, active, userID)
}

// UpdateProfile implements accounts.Users: every field but the password,
// role, activity and the dates.
func (s *Store) UpdateProfile(ctx context.Context, a accounts.Account) error {
	_, err := s.q().ExecContext(ctx, `UPDATE users SET email = ?, first_name = ?, last_name = ?, phone_number = ?,
		profile_picture_url = ?, sex = ?, date_of_birth = ?, email_verified = ?, pending_email = ?, language = ?,
		push_token = ? WHERE id = ?`,
		a.Email, a.FirstName, a.LastName, a.PhoneNumber, a.ProfilePictureURL, a.Sex, a.DateOfBirth,
		a.EmailVerified, a.PendingEmail, a.Language, a.PushToken, a.ID)
	if err != nil {
		return taken(err, "update profile")
	}
	return nil
}

// CountWithRoleLocked implements accounts.Users.
func (s *Store) CountWithRoleLocked(ctx context.Context, role string) (int, error) {
	var rid int64
	if err := s.q().QueryRowContext(ctx, `SELECT id FROM roles WHERE name = ? FOR UPDATE`, role).Scan(&rid); err != nil {
		return 0, fmt.Errorf("lock role %s: %w", role, err)
	}
	var n int
	if err := s.q().QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role_id = ?`, rid).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s users: %w", role, err)
	}
	return n, nil
}
