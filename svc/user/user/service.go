package user

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"hospital/lib/auth"
	"hospital/lib/httpx"
	"hospital/lib/idempotency"
	"hospital/lib/mysqldb"
	"hospital/lib/outbox"
	"hospital/lib/problem"
)

// Lockout is the brute-force protection of login: MaxFailures failed
// attempts within Window lock the username for Duration.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
	Duration    time.Duration
}

// DefaultLockout: 5 failures within 15 minutes lock for 15 minutes.
var DefaultLockout = Lockout{MaxFailures: 5, Window: 15 * time.Minute, Duration: 15 * time.Minute}

// Options configure a Service; zero durations take the defaults.
type Options struct {
	Signer         *auth.Signer
	ServiceClients ServiceClients
	// PublicBaseURL is where users reach the platform (links in emails).
	PublicBaseURL   string
	AccessTTL       time.Duration // 15 min
	RefreshTTL      time.Duration // 7 days
	ResetTTL        time.Duration // 1 hour
	ServiceTokenTTL time.Duration // 10 min
	Lockout         Lockout
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// Kick is called after a commit that enqueued outbox messages.
	Kick   func()
	Logger *slog.Logger
}

// Service holds the user service's domain rules. Every method that acts for
// a caller checks the caller's identity from ctx itself.
type Service struct {
	db       *sql.DB
	opts     Options
	signer   *auth.Signer
	verifier *auth.Verifier
	hasher   *Hasher
	log      *slog.Logger
}

// New returns the service over db (already migrated).
func New(db *sql.DB, opts Options) *Service {
	if opts.AccessTTL == 0 {
		opts.AccessTTL = 15 * time.Minute
	}
	if opts.RefreshTTL == 0 {
		opts.RefreshTTL = 7 * 24 * time.Hour
	}
	if opts.ResetTTL == 0 {
		opts.ResetTTL = time.Hour
	}
	if opts.ServiceTokenTTL == 0 {
		opts.ServiceTokenTTL = 10 * time.Minute
	}
	if opts.Lockout.MaxFailures == 0 {
		opts.Lockout = DefaultLockout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Kick == nil {
		opts.Kick = func() {}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.PublicBaseURL = strings.TrimRight(opts.PublicBaseURL, "/")
	return &Service{
		db: db, opts: opts, signer: opts.Signer,
		verifier: auth.NewVerifier(opts.Signer.Keys(), auth.DefaultIssuer, auth.DefaultAudience),
		hasher:   NewHasher(), log: opts.Logger,
	}
}

// Verifier checks tokens against the service's own signing key.
func (s *Service) Verifier() *auth.Verifier { return s.verifier }

// JWKS is the public key set other services verify tokens with.
func (s *Service) JWKS() auth.JWKS { return s.signer.JWKS() }

// SetKick sets the hook called after commits that enqueue notifications.
func (s *Service) SetKick(fn func()) { s.opts.Kick = fn }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// Messages shared by several answers.
const (
	msgBadCredentials = "No active account found with the given credentials."
	msgBadToken       = "Token is invalid or expired."
	msgLocked         = "Too many failed login attempts. Try again later."
	msgResetSent      = "If an account with this email exists, a password reset link has been sent to it."
	msgBadResetToken  = "The password reset link is invalid or has expired."
)

// ---------------------------------------------------------------------------
// Registration and account creation

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

const msgBadPhone = "Enter a valid phone number: 7 to 15 digits, optionally starting with +."

// Register creates a PATIENT account for an anonymous caller. idemKey, when
// set, makes a retried registration answer with the first result.
func (s *Service) Register(ctx context.Context, in RegisterRequest, idemKey string) (User, error) {
	role := strings.TrimSpace(in.RoleName)
	switch {
	case role == "" || role == auth.RolePatient:
		role = auth.RolePatient
	case slices.Contains(Roles, role):
		return User{}, problem.Forbidden("Only patient accounts can be registered here; staff accounts are created by an administrator.")
	default:
		return User{}, problem.Field("role_name", fmt.Sprintf("%q is not a valid choice.", role))
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
		return User{}, problem.Field("role_name", "This field is required.")
	}
	if !slices.Contains(Roles, role) {
		return User{}, problem.Field("role_name", fmt.Sprintf("%q is not a valid choice.", role))
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
	if len(errs) > 0 {
		return User{}, problem.Validation(errs)
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	// The fingerprint leaves the password out: the key table must not hold
	// anything derived from it.
	fp := idempotency.Fingerprint([]byte(scope), []byte(in.Username), []byte(in.Email), []byte(deref(phone)),
		[]byte(in.FirstName), []byte(in.LastName), []byte(role))

	var (
		out    User
		replay bool
	)
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if idemKey != "" {
			stored, err := idempotency.Begin(ctx, tx, scope, idemKey, fp)
			if err != nil {
				return err
			}
			if stored != nil {
				replay = true
				return json.Unmarshal(stored.Body, &out)
			}
		}
		taken, err := takenFields(ctx, tx, in.Username, in.Email, phone, 0)
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			return takenProblem(taken)
		}
		rid, err := roleID(ctx, tx, role)
		if err != nil {
			return err
		}
		id, err := insertUser(ctx, tx, newUser{
			Username: in.Username, PasswordHash: hash, Email: in.Email, FirstName: in.FirstName,
			LastName: in.LastName, Phone: phone, RoleID: rid, IsStaff: IsStaffRole(role), DateJoined: s.now(),
		})
		if err != nil {
			if field, dup := duplicateField(err); dup {
				return takenProblem(map[string]bool{field: true})
			}
			return fmt.Errorf("insert user: %w", err)
		}
		if out, err = userByID(ctx, tx, id); err != nil {
			return err
		}
		if err := outbox.Enqueue(ctx, tx, s.registeredMessage(out)); err != nil {
			return err
		}
		if idemKey != "" {
			body, err := json.Marshal(out)
			if err != nil {
				return err
			}
			return idempotency.Finish(ctx, tx, scope, idemKey, http.StatusCreated, body)
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

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

var takenMessages = map[string]string{
	"username":     "A user with that username already exists.",
	"email":        "A user with that email already exists.",
	"phone_number": "A user with that phone number already exists.",
}

func takenProblem(taken map[string]bool) error {
	errs := map[string][]string{}
	for f := range taken {
		msg, ok := takenMessages[f]
		if !ok {
			return problem.BadRequest("A user with these details already exists.")
		}
		errs[f] = []string{msg}
	}
	return problem.Validation(errs)
}

func (s *Service) registeredMessage(u User) outbox.Message {
	return outbox.Message{
		Key: "user-registered:" + strconv.FormatInt(u.ID, 10), Service: NotificationService,
		Method: http.MethodPost, Path: NotificationSendPath,
		Body: notification{
			NotificationType: NotifyUserRegistered, RecipientID: u.ID, Channel: notificationChannelMail,
			Data: map[string]string{"user_name": u.Username, "confirmation_link": s.opts.PublicBaseURL + "/login"},
		},
	}
}

// ---------------------------------------------------------------------------
// Login, tokens, logout

// Login checks credentials and starts a refresh-token family. Failed
// attempts are counted per username before the password is even checked, so
// parallel guesses cannot exceed the limit.
func (s *Service) Login(ctx context.Context, in LoginRequest) (TokenPair, error) {
	username := strings.TrimSpace(in.Username)
	key := strings.ToLower(username)
	lo := s.opts.Lockout

	var retryAfter time.Duration
	err := mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		now := s.now()
		f, err := lockFailures(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if f.LockedUntil != nil {
			if now.Before(*f.LockedUntil) {
				retryAfter = f.LockedUntil.Sub(now)
				return nil
			}
			f = failureRow{WindowStart: now} // the lock is over: start afresh
		}
		if now.Sub(f.WindowStart) >= lo.Window {
			f.Failures, f.WindowStart = 0, now
		}
		if f.Failures >= lo.MaxFailures {
			until := now.Add(lo.Duration)
			f.LockedUntil, retryAfter = &until, lo.Duration
			return saveFailures(ctx, tx, key, f)
		}
		f.Failures++ // counts as a failure until the password proves right
		return saveFailures(ctx, tx, key, f)
	})
	if err != nil {
		return TokenPair{}, err
	}
	if retryAfter > 0 {
		return TokenPair{}, lockedProblem(retryAfter)
	}

	u, err := userByUsername(ctx, s.db, username)
	if err != nil && !errors.Is(err, errNotFound) {
		return TokenPair{}, err
	}
	ok, rehash, err := s.hasher.Check(ctx, in.Password, u.passwordHash)
	if err != nil {
		return TokenPair{}, err
	}
	if !ok || !u.IsActive {
		now := s.now()
		res, err := s.db.ExecContext(ctx, `UPDATE login_failures SET locked_until = ?
			WHERE username = ? AND failures >= ? AND locked_until IS NULL`, now.Add(lo.Duration), key, lo.MaxFailures)
		if err != nil {
			return TokenPair{}, fmt.Errorf("lock account: %w", err)
		}
		var who []any // unknown usernames are not logged: they may be mistyped passwords
		if u.ID != 0 {
			who = []any{"account_id", u.ID}
		}
		if n, _ := res.RowsAffected(); n > 0 {
			s.log.WarnContext(ctx, "login locked after repeated failures", append(who, "locked_for", lo.Duration.String())...)
		} else {
			s.log.InfoContext(ctx, "login failed", who...)
		}
		return TokenPair{}, problem.Unauthorized(msgBadCredentials)
	}
	if err := clearFailures(ctx, s.db, key); err != nil {
		return TokenPair{}, err
	}
	if rehash {
		s.rehash(ctx, u.ID, in.Password)
	}
	pair, err := s.issueTokens(ctx, s.db, u, randomID())
	if err != nil {
		return TokenPair{}, err
	}
	s.log.InfoContext(ctx, "login", "account_id", u.ID)
	return pair, nil
}

// rehash replaces a hash with outdated parameters. The login goes on if it
// fails (the password was right), but the failure is logged: the account
// keeps its weaker hash until a later login succeeds in replacing it.
func (s *Service) rehash(ctx context.Context, userID int64, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = setPassword(ctx, s.db, userID, h)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "password rehash failed; the old hash stays", "account_id", userID, "err", err.Error())
	}
}

func lockedProblem(retryAfter time.Duration) *problem.Problem {
	p := problem.New(http.StatusTooManyRequests, msgLocked)
	p.RetryAfter = retryAfter
	return p
}

// issueTokens signs an access token and stores a new refresh token of family.
func (s *Service) issueTokens(ctx context.Context, q querier, u User, family string) (TokenPair, error) {
	access, err := s.signer.Sign(auth.Identity{UserID: u.ID, Role: u.Role, Username: u.Username}, s.opts.AccessTTL, randomID())
	if err != nil {
		return TokenPair{}, err
	}
	raw := randomToken()
	now := s.now()
	if err := insertRefresh(ctx, q, tokenHash(raw), family, u.ID, now, now.Add(s.opts.RefreshTTL)); err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, RefreshToken: raw}, nil
}

// Refresh rotates a refresh token: the presented one is spent and a new one
// of the same family comes back with a new access token. A spent token shown
// again means someone else holds a copy: the whole family is revoked.
func (s *Service) Refresh(ctx context.Context, raw string) (TokenPair, error) {
	var (
		pair    TokenPair
		refused bool
		reused  int64
	)
	err := mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		now := s.now()
		rt, err := refreshByHashForUpdate(ctx, tx, tokenHash(raw))
		if errors.Is(err, errNotFound) {
			refused = true
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case rt.Revoked || !now.Before(rt.ExpiresAt):
			refused = true
			return nil
		case rt.Used:
			refused, reused = true, rt.UserID
			return revokeFamily(ctx, tx, rt.FamilyID, now)
		}
		u, err := userByID(ctx, tx, rt.UserID)
		if err != nil {
			return err
		}
		if !u.IsActive {
			refused = true
			return revokeFamily(ctx, tx, rt.FamilyID, now)
		}
		if err := markRefreshUsed(ctx, tx, rt.ID, now); err != nil {
			return err
		}
		pair, err = s.issueTokens(ctx, tx, u, rt.FamilyID)
		return err
	})
	if err != nil {
		return TokenPair{}, err
	}
	if reused != 0 {
		s.log.WarnContext(ctx, "refresh token reused; token family revoked", "account_id", reused)
	}
	if refused {
		return TokenPair{}, problem.Unauthorized(msgBadToken)
	}
	return pair, nil
}

// Logout revokes the family of the caller's refresh token. An unknown or
// foreign token changes nothing and is not reported: the caller ends up
// logged out either way.
func (s *Service) Logout(ctx context.Context, raw string) error {
	u, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	return mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		rt, err := refreshByHashForUpdate(ctx, tx, tokenHash(raw))
		if errors.Is(err, errNotFound) || (err == nil && rt.UserID != u.ID) {
			return nil
		}
		if err != nil {
			return err
		}
		return revokeFamily(ctx, tx, rt.FamilyID, s.now())
	})
}

// VerifyToken returns the user an access token belongs to, if the token is
// valid and the user still active.
func (s *Service) VerifyToken(ctx context.Context, raw string) (User, error) {
	id, err := s.verifier.Verify(ctx, raw)
	if err != nil || id.UserID == 0 {
		return User{}, problem.Unauthorized(msgBadToken)
	}
	u, err := userByID(ctx, s.db, id.UserID)
	if errors.Is(err, errNotFound) || (err == nil && !u.IsActive) {
		return User{}, problem.Unauthorized(msgBadToken)
	}
	return u, err
}

// IssueServiceToken is the client-credentials grant for platform services.
func (s *Service) IssueServiceToken(ctx context.Context, in ServiceTokenRequest) (ServiceTokenResponse, error) {
	if !s.opts.ServiceClients.check(in.Service, in.Secret) {
		s.log.WarnContext(ctx, "service token refused", "service", in.Service)
		return ServiceTokenResponse{}, problem.Unauthorized("Invalid service credentials.")
	}
	tok, err := s.signer.Sign(auth.Identity{Role: auth.RoleService, Service: in.Service}, s.opts.ServiceTokenTTL, randomID())
	if err != nil {
		return ServiceTokenResponse{}, err
	}
	return ServiceTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.opts.ServiceTokenTTL / time.Second)}, nil
}

// ---------------------------------------------------------------------------
// The caller's own account

// requireUser returns the calling user's current account: tokens outlive a
// deactivation by up to their TTL, so the account is checked every time.
func (s *Service) requireUser(ctx context.Context) (User, error) {
	id, err := auth.Caller(ctx)
	if err != nil {
		return User{}, err
	}
	if id.UserID == 0 {
		return User{}, problem.Forbidden("This endpoint is for user accounts.")
	}
	u, err := userByID(ctx, s.db, id.UserID)
	if errors.Is(err, errNotFound) {
		return User{}, problem.Unauthorized("User not found.")
	}
	if err != nil {
		return User{}, err
	}
	if !u.IsActive {
		return User{}, problem.Unauthorized("User is inactive.")
	}
	return u, nil
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context) (User, error) { return s.requireUser(ctx) }

// UpdateMe changes the caller's contact details and profile picture. Role,
// staff and active flags, username and password cannot be changed here.
func (s *Service) UpdateMe(ctx context.Context, in UpdateMeRequest) (User, error) {
	u, err := s.requireUser(ctx)
	if err != nil {
		return User{}, err
	}
	errs := map[string][]string{}
	for field, v := range map[string]json.RawMessage{
		"role": in.Role, "role_name": in.RoleName, "is_staff": in.IsStaff, "is_active": in.IsActive, "username": in.Username,
	} {
		if v != nil {
			errs[field] = []string{"You cannot change this field."}
		}
	}
	if in.Password != nil {
		errs["password"] = []string{"Use /api/v1/users/password/change/ to change your password."}
	}
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(in.FirstName)
	trim(in.LastName)
	trim(in.ProfilePictureURL)
	if in.Email != nil {
		e := normalizeEmail(*in.Email)
		in.Email = &e
		if e == "" {
			errs["email"] = []string{"This field may not be blank."}
		}
	}
	clearPicture := in.ProfilePictureURL != nil && *in.ProfilePictureURL == ""
	if in.ProfilePictureURL != nil && !clearPicture && !isHTTPURL(*in.ProfilePictureURL) {
		errs["profile_picture_url"] = []string{"Enter a valid URL."}
	}
	if err := httpx.Validate(&in); err != nil {
		p, ok := problem.As(err)
		if !ok {
			return User{}, err
		}
		for f, m := range p.Errors {
			errs[f] = append(errs[f], m...)
		}
	}
	if in.Email != nil {
		u.Email = *in.Email
	}
	if in.FirstName != nil {
		u.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		u.LastName = *in.LastName
	}
	var newPhone *string
	if in.PhoneNumber != nil {
		phone, ok := normalizePhone(*in.PhoneNumber)
		if !ok {
			errs["phone_number"] = append(errs["phone_number"], msgBadPhone)
		}
		u.PhoneNumber, newPhone = phone, phone
	}
	switch {
	case clearPicture:
		u.ProfilePictureURL = nil
	case in.ProfilePictureURL != nil:
		u.ProfilePictureURL = in.ProfilePictureURL
	}
	if len(errs) > 0 {
		return User{}, problem.Validation(errs)
	}
	email := ""
	if in.Email != nil {
		email = u.Email
	}
	taken, err := takenFields(ctx, s.db, "", email, newPhone, u.ID)
	if err != nil {
		return User{}, err
	}
	if len(taken) > 0 {
		return User{}, takenProblem(taken)
	}
	if err := updateProfile(ctx, s.db, u); err != nil {
		if field, dup := duplicateField(err); dup {
			return User{}, takenProblem(map[string]bool{field: true})
		}
		return User{}, fmt.Errorf("update profile: %w", err)
	}
	return userByID(ctx, s.db, u.ID)
}

// isHTTPURL accepts what Django's URLField does, roughly: an absolute
// http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.ContainsAny(s, " \t\n") {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

// ChangePassword sets a new password after checking the old one, and ends
// every session (refresh token) of the user.
func (s *Service) ChangePassword(ctx context.Context, in PasswordChangeRequest) error {
	u, err := s.requireUser(ctx)
	if err != nil {
		return err
	}
	ok, _, err := s.hasher.Check(ctx, in.OldPassword, u.passwordHash)
	if err != nil {
		return err
	}
	if !ok {
		return problem.Field("old_password", "Your old password was entered incorrectly. Please enter it again.")
	}
	if p := PasswordProblems(in.NewPassword, u.Username, u.Email, u.FirstName, u.LastName); len(p) > 0 {
		return problem.Validation(map[string][]string{"new_password": p})
	}
	hash, err := s.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := setPassword(ctx, tx, u.ID, hash); err != nil {
			return err
		}
		return revokeUserTokens(ctx, tx, u.ID, s.now())
	})
	if err == nil {
		s.log.InfoContext(ctx, "password changed; sessions revoked", "account_id", u.ID)
	}
	return err
}

// ---------------------------------------------------------------------------
// Password reset

// RequestPasswordReset sends a reset link to the account with email, if
// there is an active one. The caller learns nothing either way.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	u, err := userByEmail(ctx, s.db, normalizeEmail(email))
	if errors.Is(err, errNotFound) || (err == nil && !u.IsActive) {
		return nil
	}
	if err != nil {
		return err
	}
	raw := randomToken()
	now := s.now()
	var rowID int64
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		id, err := insertReset(ctx, tx, tokenHash(raw), u.ID, now, now.Add(s.opts.ResetTTL))
		if err != nil {
			return err
		}
		rowID = id
		return outbox.Enqueue(ctx, tx, outbox.Message{
			Key: "password-reset:" + strconv.FormatInt(id, 10), Service: NotificationService,
			Method: http.MethodPost, Path: NotificationSendPath,
			Body: notification{
				NotificationType: NotifyPasswordResetReq, RecipientID: u.ID, Channel: notificationChannelMail,
				Data: map[string]string{
					"user_name":  u.Username,
					"reset_link": s.opts.PublicBaseURL + "/reset-password?token=" + url.QueryEscape(raw),
				},
			},
		})
	})
	if err != nil {
		return err
	}
	s.opts.Kick()
	s.log.InfoContext(ctx, "password reset requested", "account_id", u.ID, "reset_id", rowID)
	return nil
}

// ConfirmPasswordReset sets a new password with a reset token. The token,
// and every other outstanding one of the user, is spent; sessions end.
func (s *Service) ConfirmPasswordReset(ctx context.Context, in PasswordResetConfirmRequest) error {
	hash := tokenHash(strings.TrimSpace(in.Token))
	usable := func(r resetRow) bool { return !r.Used && s.now().Before(r.ExpiresAt) }
	r, err := resetByHash(ctx, s.db, hash, false)
	if errors.Is(err, errNotFound) || (err == nil && !usable(r)) {
		return problem.Field("token", msgBadResetToken)
	}
	if err != nil {
		return err
	}
	u, err := userByID(ctx, s.db, r.UserID)
	if errors.Is(err, errNotFound) || (err == nil && !u.IsActive) {
		return problem.Field("token", msgBadResetToken)
	}
	if err != nil {
		return err
	}
	if p := PasswordProblems(in.NewPassword, u.Username, u.Email, u.FirstName, u.LastName); len(p) > 0 {
		return problem.Validation(map[string][]string{"new_password": p})
	}
	pwHash, err := s.hasher.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		// Checked again under the row lock: two confirms of one token race here.
		r, err := resetByHash(ctx, tx, hash, true)
		if err != nil || !usable(r) {
			return problem.Field("token", msgBadResetToken)
		}
		now := s.now()
		if err := setPassword(ctx, tx, u.ID, pwHash); err != nil {
			return err
		}
		if err := consumeResets(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if err := revokeUserTokens(ctx, tx, u.ID, now); err != nil {
			return err
		}
		return clearFailures(ctx, tx, strings.ToLower(u.Username))
	})
	if err == nil {
		s.log.InfoContext(ctx, "password reset completed; sessions revoked", "account_id", u.ID)
	}
	return err
}

// ---------------------------------------------------------------------------
// Administration

// requireAdmin returns the calling ADMIN's account.
func (s *Service) requireAdmin(ctx context.Context) (User, error) {
	if _, err := auth.RequireRole(ctx, auth.RoleAdmin); err != nil {
		return User{}, err
	}
	u, err := s.requireUser(ctx)
	if err != nil {
		return User{}, err
	}
	if u.Role != auth.RoleAdmin {
		return User{}, problem.Forbidden("You do not have permission to perform this action.")
	}
	return u, nil
}

// requireAdminOrService admits ADMIN users and platform services.
func (s *Service) requireAdminOrService(ctx context.Context) error {
	id, err := auth.RequireRole(ctx, auth.RoleAdmin, auth.RoleService)
	if err != nil {
		return err
	}
	if id.IsService() {
		return nil
	}
	_, err = s.requireAdmin(ctx)
	return err
}

// GetUser returns any account, for ADMIN and services.
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return User{}, err
	}
	u, err := userByID(ctx, s.db, id)
	if errors.Is(err, errNotFound) {
		return User{}, problem.NotFound("User not found.")
	}
	return u, err
}

// ContactInfo is how the Notification service reaches a user.
func (s *Service) ContactInfo(ctx context.Context, id int64) (ContactInfo, error) {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return ContactInfo{}, err
	}
	return ContactInfo{
		UserID: u.ID, Email: u.Email, PhoneNumber: u.PhoneNumber, FirstName: u.FirstName,
		LastName: u.LastName, Username: u.Username, Language: "vi",
	}, nil
}

// ListUsers filters and pages accounts, for ADMIN and services.
func (s *Service) ListUsers(ctx context.Context, f ListFilter) ([]User, int, error) {
	if err := s.requireAdminOrService(ctx); err != nil {
		return nil, 0, err
	}
	if f.Role != "" && !slices.Contains(Roles, f.Role) {
		return nil, 0, problem.Field("role", fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", f.Role))
	}
	return listUsers(ctx, s.db, f)
}

// SetActive activates or deactivates an account (ADMIN). Deactivation ends
// the account's sessions; an admin cannot deactivate their own account.
func (s *Service) SetActive(ctx context.Context, id int64, active bool) (User, error) {
	admin, err := s.requireAdmin(ctx)
	if err != nil {
		return User{}, err
	}
	if id == admin.ID && !active {
		return User{}, problem.BadRequest("You cannot deactivate your own account.")
	}
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := userByIDForUpdate(ctx, tx, id); err != nil {
			if errors.Is(err, errNotFound) {
				return problem.NotFound("User not found.")
			}
			return err
		}
		if err := setActive(ctx, tx, id, active); err != nil {
			return err
		}
		if !active {
			return revokeUserTokens(ctx, tx, id, s.now())
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	s.log.InfoContext(ctx, "account activation changed", "account_id", id, "is_active", active, "admin_id", admin.ID)
	return userByID(ctx, s.db, id)
}

// ---------------------------------------------------------------------------
// Start-up and housekeeping

// Bootstrap creates the first ADMIN when there is none. The ADMIN role row
// is locked while checking, so instances starting together create one.
func (s *Service) Bootstrap(ctx context.Context, username, password, email string) (bool, error) {
	in := normalizeRequest(RegisterRequest{Username: username, Password: password, Email: email, RoleName: auth.RoleAdmin})
	if err := httpx.Validate(&in); err != nil {
		if p, ok := problem.As(err); ok {
			return false, fmt.Errorf("bootstrap admin: invalid settings: %v", p.Errors)
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
	err = mysqldb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var rid int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE name = ? FOR UPDATE`, auth.RoleAdmin).Scan(&rid); err != nil {
			return fmt.Errorf("lock ADMIN role: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role_id = ?`, rid).Scan(&n); err != nil {
			return fmt.Errorf("count admins: %w", err)
		}
		if n > 0 {
			return nil
		}
		id, err := insertUser(ctx, tx, newUser{
			Username: in.Username, PasswordHash: hash, Email: in.Email, RoleID: rid, IsStaff: true, DateJoined: s.now(),
		})
		if err != nil {
			if field, dup := duplicateField(err); dup {
				return fmt.Errorf("bootstrap admin: the %s is already used by a non-admin account", field)
			}
			return fmt.Errorf("bootstrap admin: %w", err)
		}
		created = id
		return nil
	})
	if err != nil {
		return false, err
	}
	if created != 0 {
		s.log.InfoContext(ctx, "bootstrap admin created", "account_id", created)
	}
	return created != 0, nil
}

// Cleanup deletes what can no longer be used: refresh and reset tokens
// expired a day ago, and stale login-failure counters.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	cutoff := now.Add(-24 * time.Hour)
	stmts := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM refresh_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM password_reset_tokens WHERE expires_at < ? LIMIT 5000`, []any{cutoff}},
		{`DELETE FROM login_failures WHERE (locked_until IS NULL AND window_start < ?) OR locked_until < ? LIMIT 5000`,
			[]any{now.Add(-s.opts.Lockout.Window), now}},
	}
	for _, st := range stmts {
		for {
			res, err := s.db.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return fmt.Errorf("cleanup: %w", err)
			}
			if n, _ := res.RowsAffected(); n < 5000 {
				break
			}
		}
	}
	return nil
}
