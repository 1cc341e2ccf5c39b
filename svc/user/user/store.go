package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// querier is what both *sql.DB and *sql.Tx offer, so store functions run
// inside or outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// errNotFound is returned by lookups that find no row.
var errNotFound = errors.New("not found")

const userColumns = `u.id, u.username, u.password, u.email, u.phone_number, u.first_name, u.last_name,
	u.role_id, r.name, u.is_active, u.is_staff, u.date_joined, u.profile_picture_url`

const userFrom = ` FROM users u JOIN roles r ON r.id = u.role_id`

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (User, error) {
	var (
		u     User
		phone sql.NullString
		pic   sql.NullString
	)
	err := s.Scan(&u.ID, &u.Username, &u.passwordHash, &u.Email, &phone, &u.FirstName, &u.LastName,
		&u.roleID, &u.Role, &u.IsActive, &u.IsStaff, &u.DateJoined, &pic)
	if errors.Is(err, sql.ErrNoRows) {
		return u, errNotFound
	}
	if err != nil {
		return u, fmt.Errorf("scan user: %w", err)
	}
	if phone.Valid {
		u.PhoneNumber = &phone.String
	}
	if pic.Valid {
		u.ProfilePictureURL = &pic.String
	}
	u.DateJoined = u.DateJoined.UTC()
	return u, nil
}

func userByID(ctx context.Context, q querier, id int64) (User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = ?`, id))
}

func userByIDForUpdate(ctx context.Context, q querier, id int64) (User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.id = ? FOR UPDATE`, id))
}

func userByUsername(ctx context.Context, q querier, username string) (User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.username = ?`, username))
}

func userByEmail(ctx context.Context, q querier, email string) (User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+userFrom+` WHERE u.email = ?`, email))
}

func roleID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM roles WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("role %s: %w", name, err)
	}
	return id, nil
}

// newUser is a row to insert.
type newUser struct {
	Username, PasswordHash, Email, FirstName, LastName string
	Phone                                              *string
	RoleID                                             int64
	IsStaff                                            bool
	DateJoined                                         time.Time
}

func insertUser(ctx context.Context, q querier, n newUser) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO users
		(username, password, email, phone_number, first_name, last_name, role_id, is_active, is_staff, date_joined)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		n.Username, n.PasswordHash, n.Email, n.Phone, n.FirstName, n.LastName, n.RoleID, n.IsStaff, n.DateJoined)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// takenFields reports which of the unique user fields already belong to
// another user than except (0: any user).
func takenFields(ctx context.Context, q querier, username, email string, phone *string, except int64) (map[string]bool, error) {
	out := map[string]bool{}
	check := func(field, col string, v any) error {
		var n int
		err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+col+` = ? AND id <> ?`, v, except).Scan(&n)
		if err != nil {
			return fmt.Errorf("check %s: %w", field, err)
		}
		if n > 0 {
			out[field] = true
		}
		return nil
	}
	if username != "" {
		if err := check("username", "username", username); err != nil {
			return nil, err
		}
	}
	if email != "" {
		if err := check("email", "email", email); err != nil {
			return nil, err
		}
	}
	if phone != nil {
		if err := check("phone_number", "phone_number", *phone); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// duplicateField names the user field a unique-key violation is about.
func duplicateField(err error) (string, bool) {
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		return "", false
	}
	for key, field := range map[string]string{
		"uq_users_username": "username", "uq_users_email": "email", "uq_users_phone_number": "phone_number",
	} {
		if strings.Contains(me.Message, key) {
			return field, true
		}
	}
	return "", true
}

func listUsers(ctx context.Context, q querier, f ListFilter) ([]User, int, error) {
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
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*)`+userFrom+cond, args...).Scan(&count); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT `+userColumns+userFrom+cond+` ORDER BY u.id LIMIT ? OFFSET ?`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, u)
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

func setPassword(ctx context.Context, q querier, userID int64, hash string) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET password = ? WHERE id = ?`, hash, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

func setActive(ctx context.Context, q querier, userID int64, active bool) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET is_active = ? WHERE id = ?`, active, userID)
	if err != nil {
		return fmt.Errorf("set is_active: %w", err)
	}
	return nil
}

func updateProfile(ctx context.Context, q querier, u User) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET email = ?, first_name = ?, last_name = ?, phone_number = ?,
		profile_picture_url = ? WHERE id = ?`, u.Email, u.FirstName, u.LastName, u.PhoneNumber, u.ProfilePictureURL, u.ID)
	return err
}

// --- refresh tokens ---

type refreshRow struct {
	ID        int64
	UserID    int64
	FamilyID  string
	ExpiresAt time.Time
	Used      bool
	Revoked   bool
}

func insertRefresh(ctx context.Context, q querier, hash, family string, userID int64, now, expires time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, hash, family, userID, now, expires)
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

func refreshByHashForUpdate(ctx context.Context, q querier, hash string) (refreshRow, error) {
	var (
		r             refreshRow
		used, revoked sql.NullTime
	)
	err := q.QueryRowContext(ctx, `SELECT id, user_id, family_id, expires_at, used_at, revoked_at
		FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`, hash).
		Scan(&r.ID, &r.UserID, &r.FamilyID, &r.ExpiresAt, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read refresh token: %w", err)
	}
	r.Used, r.Revoked = used.Valid, revoked.Valid
	return r, nil
}

func markRefreshUsed(ctx context.Context, q querier, id int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE id = ?`, now, id)
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return nil
}

func revokeFamily(ctx context.Context, q querier, family string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, now, family)
	if err != nil {
		return fmt.Errorf("revoke token family: %w", err)
	}
	return nil
}

func revokeUserTokens(ctx context.Context, q querier, userID int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, now, userID)
	if err != nil {
		return fmt.Errorf("revoke user's tokens: %w", err)
	}
	return nil
}

// --- password reset tokens ---

type resetRow struct {
	ID        int64
	UserID    int64
	ExpiresAt time.Time
	Used      bool
}

func insertReset(ctx context.Context, q querier, hash string, userID int64, now, expires time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at)
		VALUES (?, ?, ?, ?)`, hash, userID, now, expires)
	if err != nil {
		return 0, fmt.Errorf("store reset token: %w", err)
	}
	return res.LastInsertId()
}

func resetByHash(ctx context.Context, q querier, hash string, forUpdate bool) (resetRow, error) {
	var (
		r    resetRow
		used sql.NullTime
	)
	query := `SELECT id, user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = ?`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	err := q.QueryRowContext(ctx, query, hash).Scan(&r.ID, &r.UserID, &r.ExpiresAt, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read reset token: %w", err)
	}
	r.Used = used.Valid
	return r, nil
}

// consumeResets marks every unused reset token of the user used: one reset
// makes all the links sent before it worthless.
func consumeResets(ctx context.Context, q querier, userID int64, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE password_reset_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, now, userID)
	if err != nil {
		return fmt.Errorf("consume reset tokens: %w", err)
	}
	return nil
}

// --- login failures ---

type failureRow struct {
	Failures    int
	WindowStart time.Time
	LockedUntil *time.Time
}

func lockFailures(ctx context.Context, q querier, key string, now time.Time) (failureRow, error) {
	// ON DUPLICATE KEY UPDATE (not INSERT IGNORE) takes the row's exclusive
	// lock at once: with IGNORE, concurrent attempts each hold a shared lock
	// and deadlock upgrading it below.
	if _, err := q.ExecContext(ctx, `INSERT INTO login_failures (username, failures, window_start) VALUES (?, 0, ?)
		ON DUPLICATE KEY UPDATE failures = failures`, key, now); err != nil {
		return failureRow{}, fmt.Errorf("login failures: %w", err)
	}
	var (
		f      failureRow
		locked sql.NullTime
	)
	err := q.QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_failures
		WHERE username = ? FOR UPDATE`, key).Scan(&f.Failures, &f.WindowStart, &locked)
	if err != nil {
		return f, fmt.Errorf("login failures: %w", err)
	}
	if locked.Valid {
		t := locked.Time
		f.LockedUntil = &t
	}
	return f, nil
}

func saveFailures(ctx context.Context, q querier, key string, f failureRow) error {
	_, err := q.ExecContext(ctx, `UPDATE login_failures SET failures = ?, window_start = ?, locked_until = ?
		WHERE username = ?`, f.Failures, f.WindowStart, f.LockedUntil, key)
	if err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	return nil
}

func clearFailures(ctx context.Context, q querier, key string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM login_failures WHERE username = ?`, key)
	if err != nil {
		return fmt.Errorf("login failures: %w", err)
	}
	return nil
}
