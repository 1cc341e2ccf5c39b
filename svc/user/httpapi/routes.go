// Package httpapi is the user service's HTTP face: the route table (who may
// call what), thin handlers, and the one handler that serves them.
package httpapi

import (
	"net/http"

	"hospital/lib/adminapi"
	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/svcclient"
	"hospital/lib/userapi"
	"hospital/svc/user/accounts"
)

// Paths of the user service (spec section 1, plus the admin and internal
// endpoints other services call).
const (
	PathRegister      = "/api/v1/users/register/"
	PathLogin         = "/api/v1/users/login/"
	PathLogout        = "/api/v1/users/logout/"
	PathRefresh       = "/api/v1/users/token/refresh/"
	PathVerify        = "/api/v1/users/token/verify/"
	PathMe            = "/api/v1/users/me/"
	PathPasswordChg   = "/api/v1/users/password/change/"
	PathPasswordReset = "/api/v1/users/password/reset/"
	PathResetConfirm  = "/api/v1/users/password/reset/confirm/"
	PathResetPage     = accounts.ResetPagePath
	PathEmailConfirm  = "/api/v1/users/email/confirm/"
	PathEmailPage     = accounts.EmailConfirmPagePath
	PathJWKS          = svcclient.JWKSPath
	PathServiceToken  = svcclient.ServiceTokenPath
	PathDoctors       = "/api/v1/users/doctors/"
	PathPatients      = "/api/v1/users/patients/"
	PathAdminUsers    = "/api/v1/admin/users/"
	pathAdminUser     = PathAdminUsers + "{user_id:[0-9]+}/"
	// PathInternalUsers are the lib/userapi endpoints.
	PathInternalUsers = "/api/v1/users/internal/users/"
	pathInternalUser  = PathInternalUsers + "{user_id:[0-9]+}/"
)

// The services that may read each internal endpoint, and nothing else:
// summaries for those that show names or check roles, contact details only
// for the one that sends messages, lists by role for those that notify a
// group (pharmacists, lab technicians) or count users.
var (
	summaryReaders = []string{"appointment", "ehr", "pharmacy", "billing", "lab", "admin"}
	contactReaders = []string{"notification"}
	listReaders    = []string{"pharmacy", "lab", "admin"}
)

// Routes is the user service's API. svc may be nil when only the table is
// wanted (the README check, the gateway routes).
func Routes(svc *accounts.Service) []api.Route {
	h := handlers{svc: svc}
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	idem := []api.Param{api.IdempotencyKey(false)}
	listParams := append([]api.Param{
		{Name: "role", Enum: accounts.Roles, Description: "Only users with this role."},
		{Name: "is_active", Type: "boolean", Description: "Only active (true) or inactive (false) users."},
		{Name: "search", Description: "Part of the username, email, first or last name."},
	}, api.PageParams...)
	return []api.Route{
		{Method: get, Path: PathJWKS, Summary: "The public keys tokens are signed with (JWKS).", Access: api.Public(),
			Handler: h.jwks, Response: auth.JWKS{}},
		{Method: post, Path: PathServiceToken, Summary: "A service token for a service's client id and secret.", Access: api.ClientCredentials(),
			Handler: h.serviceToken, Request: accounts.ServiceTokenRequest{}, Response: accounts.ServiceTokenResponse{}},
		{Method: post, Path: PathRegister, Summary: "Register a patient account.", Access: api.Public(),
			Handler: h.register, Request: accounts.RegisterRequest{}, Response: accounts.User{}, Status: http.StatusCreated, Headers: idem},
		{Method: post, Path: PathLogin, Summary: "Sign in: an access and a refresh token.", Access: api.Public(),
			Handler: h.login, Request: accounts.LoginRequest{}, Response: accounts.TokenPair{}},
		{Method: post, Path: PathLogout, Summary: "Sign out: the session ends at every service (body optional).", Access: api.AnyUser(),
			Handler: h.logout, Request: accounts.LogoutRequest{}, OptionalBody: true, Status: http.StatusNoContent},
		{Method: post, Path: PathRefresh, Summary: "Rotate a refresh token for a new token pair.", Access: api.Public(),
			Handler: h.refresh, Request: accounts.RefreshRequest{}, Response: accounts.TokenPair{}},
		{Method: post, Path: PathVerify, Summary: "The user an access token belongs to, if valid.", Access: api.Public(),
			Handler: h.verify, Request: accounts.VerifyRequest{}, Response: accounts.User{}},
		{Method: get, Path: PathMe, Summary: "The caller's account.", Access: api.AnyUser(),
			Handler: h.getMe, Response: accounts.User{}},
		{Method: put, Path: PathMe, Summary: "Change the caller's details; a new email or phone needs current_password.", Access: api.AnyUser(),
			Handler: h.putMe, Request: accounts.UpdateMeRequest{}, Response: accounts.User{}},
		{Method: post, Path: PathPasswordChg, Summary: "Change the password (needs the old one); ends every session.", Access: api.AnyUser(),
			Handler: h.changePassword, Request: accounts.PasswordChangeRequest{}, Response: accounts.Detail{}},
		{Method: post, Path: PathPasswordReset, Summary: "Email a password-reset link (same answer for any address).", Access: api.Public(),
			Handler: h.resetPassword, Request: accounts.PasswordResetRequest{}, Response: accounts.Detail{}},
		{Method: post, Path: PathResetConfirm, Summary: "Set a new password with a reset token; ends every session.", Access: api.Public(),
			Handler: h.confirmReset, Request: accounts.PasswordResetConfirmRequest{}, Response: accounts.Detail{}},

		{Method: get, Path: PathResetPage, Summary: "The page a reset link opens: sets the new password (HTML).", Access: api.Public(),
			Handler: resetPage.serve, Query: []api.Param{{Name: "token", Description: "The reset token (read by the page's script)."}}},
		{Method: post, Path: PathEmailConfirm, Summary: "Confirm an email address with the token of its link.", Access: api.Public(),
			Handler: h.confirmEmail, Request: accounts.EmailConfirmRequest{}, Response: accounts.EmailConfirmed{}},
		{Method: get, Path: PathEmailPage, Summary: "The page a confirmation link opens: confirms the address (HTML).", Access: api.Public(),
			Handler: confirmEmailPage.serve, Query: []api.Param{{Name: "token", Description: "The confirmation token (read by the page's script)."}}},

		{Method: get, Path: PathDoctors, Summary: "The active doctors (id and name), to book one.", Access: api.AnyUser(),
			Handler: h.doctors, Response: doctorPage{}, Query: append([]api.Param{
				{Name: "search", Description: "Part of the doctor's name."}}, api.PageParams...)},
		{Method: get, Path: PathPatients, Summary: "Find active patients by name, username or email.",
			Access:  api.Roles(auth.RoleDoctor, auth.RoleNurse, auth.RoleAdmin, auth.RolePharmacist, auth.RoleLabTechnician),
			Handler: h.patients, Response: patientPage{}, Query: append([]api.Param{
				{Name: "search", Required: true, Description: "At least 2 characters of the name, username or email."}}, api.PageParams...)},

		{Method: get, Path: PathAdminUsers, Summary: "List users.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminListUsers, Response: userPage{}, Query: listParams},
		{Method: post, Path: PathAdminUsers, Summary: "Create an account of any role.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminCreateUser, Request: accounts.RegisterRequest{}, Response: accounts.User{}, Status: http.StatusCreated, Headers: idem},
		{Method: get, Path: pathAdminUser, Summary: "A user.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminGetUser, Response: accounts.User{}},
		// The notification service still reads contact info here until it uses lib/userapi.
		{Method: get, Path: pathAdminUser + "contact-info/", Summary: "How to reach a user.", Access: api.Roles(auth.RoleAdmin).OrServices("notification"),
			Handler: h.adminContactInfo, Response: userapi.Contact{}},
		{Method: put, Path: pathAdminUser, Summary: "Correct a user's names, sex and date of birth.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminUpdate, Request: accounts.AdminUpdateRequest{}, Response: accounts.User{}},
		{Method: post, Path: pathAdminUser + "deactivate/", Summary: "Deactivate an account; its sessions end.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminSetActive(false), Response: accounts.User{}},
		{Method: post, Path: pathAdminUser + "unlock/", Summary: "Clear the account's failed sign-ins so its owner can sign in at once.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminUnlock, Response: accounts.User{}},
		{Method: post, Path: pathAdminUser + "activate/", Summary: "Activate an account.", Access: api.Roles(auth.RoleAdmin),
			Handler: h.adminSetActive(true), Response: accounts.User{}},

		{Method: get, Path: PathInternalUsers, Summary: "Users by role and activity (lib/userapi).", Access: api.Services(listReaders...),
			Handler: h.internalList, Response: summaryPage{}, Query: append([]api.Param{
				{Name: "role", Enum: accounts.Roles, Description: "Only users with this role."},
				{Name: "is_active", Type: "boolean", Description: "Only active (true) or inactive (false) users."},
			}, api.PageParams...)},
		{Method: get, Path: pathInternalUser, Summary: "A user's summary: role, name, sex, date of birth (lib/userapi).", Access: api.Services(summaryReaders...),
			Handler: h.internalUser, Response: userapi.User{}},
		{Method: get, Path: pathInternalUser + "contact-info/", Summary: "How to reach a user (lib/userapi).", Access: api.Services(contactReaders...),
			Handler: h.internalContact, Response: userapi.Contact{}},
		adminapi.DashboardRoute("users", "The admin dashboard's figures: users by role, active or not (lib/adminapi).", h.svc.Dashboard),
	}
}

// doctorPage and patientPage document the lists.
type doctorPage struct {
	Count    int                      `json:"count"`
	Next     *string                  `json:"next"`
	Previous *string                  `json:"previous"`
	Results  []accounts.DoctorListing `json:"results"`
}

type patientPage struct {
	Count    int                       `json:"count"`
	Next     *string                   `json:"next"`
	Previous *string                   `json:"previous"`
	Results  []accounts.PatientListing `json:"results"`
}

// summaryPage documents a page of user summaries.
type summaryPage struct {
	Count    int            `json:"count"`
	Next     *string        `json:"next"`
	Previous *string        `json:"previous"`
	Results  []userapi.User `json:"results"`
}

// userPage documents a page of users.
type userPage struct {
	Count    int             `json:"count"`
	Next     *string         `json:"next"`
	Previous *string         `json:"previous"`
	Results  []accounts.User `json:"results"`
}
