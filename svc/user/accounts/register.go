package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"hospital/lib/apperr"
	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
)

var usernameRe = regexp.MustCompile(`^[\p{L}\p{N}_.@+-]+$`)

// normalizeRequest trims what DRF's CharField trims (not passwords) and
// lower-cases the email's domain, as Django's normalize_email does.
func normalizeRequest(in RegisterRequest) RegisterRequest {
	in.Username = strings.TrimSpace(in.Username)
	in.Email = normalizeEmail(in.Email)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	in.PhoneNumber = strings.TrimSpace(in.PhoneNumber)
	in.RoleName = strings.TrimSpace(in.RoleName)
	in.DateOfBirth = strings.TrimSpace(in.DateOfBirth)
	return in
}

func normalizeEmail(e string) string {
	e = strings.TrimSpace(e)
	if at := strings.LastIndexByte(e, '@'); at > 0 {
		e = e[:at] + strings.ToLower(e[at:])
	}
	return e
}

var phoneSeparators = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")
var phoneRe = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// normalizePhone strips separators so "0901 234-567" and "0901234567" are
// the same number for the unique key; blank means none.
func normalizePhone(p string) (*string, bool) {
	p = phoneSeparators.Replace(strings.TrimSpace(p))
	if p == "" {
		return nil, true
	}
	if !phoneRe.MatchString(p) {
		return nil, false
	}
	return &p, true
}

// Register creates a PATIENT account for an anonymous caller. idemKey, when
// set, makes a retried registration answer with the first result.
func (s *Service) Register(ctx context.Context, in RegisterRequest, idemKey string) (User, error) {
	role := strings.TrimSpace(in.RoleName)
	switch {
	case role == "" || role == auth.RolePatient:
		role = auth.RolePatient
	case slices.Contains(Roles, role):
		return User{}, errStaffRole
	default:
		return User{}, badChoice("role_name", role)
	}
	return s.createUser(ctx, in, role, "register", idemKey)
}

// CreateUser lets an ADMIN create an account of any role; staff roles get
// is_staff.
func (s *Service) CreateUser(ctx context.Context, in RegisterRequest, idemKey string) (User, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return User{}, err
	}
	role := strings.TrimSpace(in.RoleName)
	if role == "" {
		return User{}, errRoleRequired
	}
	if !slices.Contains(Roles, role) {
		return User{}, badChoice("role_name", role)
	}
	u, err := s.createUser(ctx, in, role, "admin-create:"+strconv.FormatInt(admin.ID, 10), idemKey)
	if err == nil {
		s.log.InfoContext(ctx, "account created by admin", "account_id", u.ID, "role", u.Role, "admin_id", admin.ID)
	}
	return u, err
}

func (s *Service) createUser(ctx context.Context, in RegisterRequest, role, scope, idemKey string) (User, error) {
	in = normalizeRequest(in)
	if err := httpx.Validate(&in); err != nil {
		return User{}, err
	}
	errs := map[string][]string{}
	if !usernameRe.MatchString(in.Username) {
		errs["username"] = append(errs["username"], "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
	}
	phone, ok := normalizePhone(in.PhoneNumber)
	if !ok {
		errs["phone_number"] = append(errs["phone_number"], msgBadPhone)
	}
	if p := PasswordProblems(in.Password, in.Username, in.Email, in.FirstName, in.LastName); len(p) > 0 {
		errs["password"] = p
	}
	born, msg := birthDate(in.DateOfBirth, s.now())
	if msg != "" {
		errs["date_of_birth"] = []string{msg}
	}
	if len(errs) > 0 {
		return User{}, apperr.Validation(errs)
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	// The fingerprint leaves the password out: the key table must not hold
	// anything derived from it.
	fp := idempotency.Fingerprint([]byte(scope), []byte(in.Username), []byte(in.Email), []byte(deref(phone)),
		[]byte(in.FirstName), []byte(in.LastName), []byte(role), []byte(in.Sex), []byte(deref(born)))

	var (
		out    User
		replay bool
	)
	err = s.store.InTx(ctx, func(tx Store) error {
		if idemKey != "" {
			stored, err := tx.BeginIdempotent(ctx, scope, idemKey, fp)
			if err != nil {
				return err
			}
			if stored != nil {
				replay = true
				return json.Unmarshal(stored.Body, &out)
			}
		}
		taken, err := tx.TakenFields(ctx, in.Username, in.Email, phone, 0)
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			return takenError(taken)
		}
		id, err := tx.InsertUser(ctx, NewAccount{
			Username: in.Username, PasswordHash: hash, Email: in.Email, FirstName: in.FirstName,
			LastName: in.LastName, Phone: phone, Sex: sexOf(in.Sex), DateOfBirth: born, Role: role, IsStaff: IsStaffRole(role), DateJoined: s.now(),
		})
		if err != nil {
			return asTaken(err)
		}
		a, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		out = a.User
		_, raw, err := s.newEmailToken(ctx, tx, out.ID, out.Email, EmailVerify)
		if err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, s.registeredMessage(out, raw)); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, auditEvent(ctx, "user.account.create", out)); err != nil {
			return err
		}
		if idemKey != "" {
			body, err := json.Marshal(out)
			if err != nil {
				return err
			}
			return tx.FinishIdempotent(ctx, scope, idemKey, 201, body)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	if !replay {
		s.opts.Kick()
		s.log.InfoContext(ctx, "user created", "account_id", out.ID, "role", out.Role)
	}
	return out, nil
}

// asTaken turns the store's unique-key error into the field's 400.
func asTaken(err error) error {
	var te *TakenError
	if errors.As(err, &te) {
		return takenError(map[string]bool{te.Field: true})
	}
	return err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Bootstrap creates the first ADMIN when there is none. The ADMIN role row
// is locked while checking, so instances starting together create one.
func (s *Service) Bootstrap(ctx context.Context, username, password, email string) (bool, error) {
	in := normalizeRequest(RegisterRequest{Username: username, Password: password, Email: email, RoleName: auth.RoleAdmin})
	if err := httpx.Validate(&in); err != nil {
		if e, ok := apperr.As(err); ok {
			return false, fmt.Errorf("bootstrap admin: invalid settings: %v", e.Fields)
		}
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	if p := PasswordProblems(in.Password, in.Username, in.Email); len(p) > 0 {
		return false, fmt.Errorf("bootstrap admin: BOOTSTRAP_ADMIN_PASSWORD refused: %s", strings.Join(p, " "))
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return false, err
	}
	var created int64
	err = s.store.InTx(ctx, func(tx Store) error {
		n, err := tx.CountWithRoleLocked(ctx, auth.RoleAdmin)
		if err != nil || n > 0 {
			return err
		}
		created, err = tx.InsertUser(ctx, NewAccount{
			Username: in.Username, PasswordHash: hash, Email: in.Email, Role: auth.RoleAdmin, IsStaff: true, DateJoined: s.now(),
		})
		var te *TakenError
		if errors.As(err, &te) {
			return fmt.Errorf("bootstrap admin: the %s is already used by a non-admin account", te.Field)
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if created != 0 {
		s.log.InfoContext(ctx, "bootstrap admin created", "account_id", created)
	}
	return created != 0, nil
}
