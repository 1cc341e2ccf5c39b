// Package accounts is the user service's domain: accounts and roles,
// registration, sign-in and sessions, the password flows, and what other
// services may learn about a user. It holds the rules only: no SQL (package
// store) and no HTTP (package httpapi).
//
// Where the spec's Django app put things: models here, serializers as the
// request/response types below, views split into one file per use case.
package accounts

import (
	"encoding/json"
	"time"

	"hospital/lib/auth"
)

// Roles as the spec names them. Every role but PATIENT is staff.
var Roles = []string{
	auth.RolePatient, auth.RoleDoctor, auth.RoleNurse, auth.RoleAdmin,
	auth.RolePharmacist, auth.RoleInsuranceProvider, auth.RoleLabTechnician,
}

// IsStaffRole reports whether accounts of role get is_staff.
func IsStaffRole(role string) bool { return role != auth.RolePatient }

// User is the spec's User model as the API shows it: never the password.
type User struct {
	ID                int64     `json:"id"`
	Username          string    `json:"username"`
	Email             string    `json:"email"`
	PhoneNumber       *string   `json:"phone_number"`
	FirstName         string    `json:"first_name"`
	LastName          string    `json:"last_name"`
	Role              string    `json:"role"`
	IsActive          bool      `json:"is_active"`
	IsStaff           bool      `json:"is_staff"`
	DateJoined        time.Time `json:"date_joined"`
	ProfilePictureURL *string   `json:"profile_picture_url"`
	// Sex is "M", "F" or null; DateOfBirth is YYYY-MM-DD or null.
	Sex         *string `json:"sex"`
	DateOfBirth *string `json:"date_of_birth"`
	// EmailVerified: the owner followed a link sent to the address.
	EmailVerified bool `json:"email_verified"`
	// PendingEmail is the address waiting for its confirmation link.
	PendingEmail *string `json:"pending_email"`
	// Language of the messages the user gets: "vi" or "en".
	Language string `json:"language"`
}

// Account is a user with what only this service sees.
type Account struct {
	User
	PasswordHash string  `json:"-"`
	PushToken    *string `json:"-"`
}

// NewAccount is a row to insert.
type NewAccount struct {
	Username, PasswordHash, Email, FirstName, LastName string
	Phone, Sex, DateOfBirth                            *string
	Role                                               string
	IsStaff                                            bool
	DateJoined                                         time.Time
}

// RegisterRequest is the body of POST /api/v1/users/register/ and, with
// role_name required, of POST /api/v1/admin/users/.
type RegisterRequest struct {
	Username    string `json:"username" validate:"required,max=150"`
	Password    string `json:"password" validate:"required,max=256"`
	Email       string `json:"email" validate:"required,max=254,email"`
	FirstName   string `json:"first_name" validate:"max=150"`
	LastName    string `json:"last_name" validate:"max=150"`
	PhoneNumber string `json:"phone_number" validate:"max=20"`
	RoleName    string `json:"role_name" validate:"max=50"`
	// Sex ("M" or "F") and DateOfBirth (YYYY-MM-DD) are optional.
	Sex         string `json:"sex" validate:"omitempty,oneof=M F"`
	DateOfBirth string `json:"date_of_birth" validate:"max=10"`
}

// LoginRequest is the body of POST /api/v1/users/login/.
type LoginRequest struct {
	Username string `json:"username" validate:"required,max=150"`
	Password string `json:"password" validate:"required,max=256"`
}

// TokenPair answers a login and a refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// RefreshRequest is the body of token/refresh/.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=200"`
}

// LogoutRequest is the optional body of logout/.
type LogoutRequest struct {
	RefreshToken string `json:"refresh_token" validate:"max=200"`
}

// VerifyRequest is the body of token/verify/.
type VerifyRequest struct {
	Token string `json:"token" validate:"required,max=4096"`
}

// UpdateMeRequest is the body of PUT /api/v1/users/me/. Absent fields keep
// their value; an empty phone_number or profile_picture_url clears it. The
// fields a user may not change themself are listed so the answer can say so
// instead of a generic "unknown field".
type UpdateMeRequest struct {
	Email       *string `json:"email" validate:"omitempty,max=254,email"`
	FirstName   *string `json:"first_name" validate:"omitempty,max=150"`
	LastName    *string `json:"last_name" validate:"omitempty,max=150"`
	PhoneNumber *string `json:"phone_number" validate:"omitempty,max=20"`
	// Blank clears the picture; anything else must be an http(s) URL
	// (checked by the service, since a tag cannot allow blank on a pointer).
	ProfilePictureURL *string `json:"profile_picture_url" validate:"omitempty,max=500"`
	// Sex and DateOfBirth: blank clears.
	Sex         *string `json:"sex" validate:"omitempty,oneof=M F"`
	DateOfBirth *string `json:"date_of_birth" validate:"omitempty,max=10"`
	// Language of messages: "vi" or "en".
	Language *string `json:"language" validate:"omitempty,oneof=vi en"`
	// PushToken is the device push notifications go to; blank removes it.
	PushToken *string `json:"push_token" validate:"omitempty,max=512"`
	// CurrentPassword is required to change email or phone_number.
	CurrentPassword *string `json:"current_password" validate:"omitempty,max=256"`

	Role     json.RawMessage `json:"role"`
	RoleName json.RawMessage `json:"role_name"`
	IsStaff  json.RawMessage `json:"is_staff"`
	IsActive json.RawMessage `json:"is_active"`
	Username json.RawMessage `json:"username"`
	Password json.RawMessage `json:"password"`
}

// AdminUpdateRequest is the body of PUT /api/v1/admin/users/{id}/: the
// details an ADMIN may correct. Absent fields keep their value; blank
// clears sex and date_of_birth.
type AdminUpdateRequest struct {
	FirstName   *string `json:"first_name" validate:"omitempty,max=150"`
	LastName    *string `json:"last_name" validate:"omitempty,max=150"`
	Sex         *string `json:"sex" validate:"omitempty,oneof=M F"`
	DateOfBirth *string `json:"date_of_birth" validate:"omitempty,max=10"`
}

// PasswordChangeRequest is the body of password/change/.
type PasswordChangeRequest struct {
	OldPassword string `json:"old_password" validate:"required,max=256"`
	NewPassword string `json:"new_password" validate:"required,max=256"`
}

// PasswordResetRequest is the body of password/reset/.
type PasswordResetRequest struct {
	Email string `json:"email" validate:"required,max=254,email"`
}

// PasswordResetConfirmRequest is the body of password/reset/confirm/.
type PasswordResetConfirmRequest struct {
	Token       string `json:"token" validate:"required,max=200"`
	NewPassword string `json:"new_password" validate:"required,max=256"`
}

// ServiceTokenRequest is the client-credentials body of internal/service-token/.
type ServiceTokenRequest struct {
	Service string `json:"service" validate:"required,max=64"`
	Secret  string `json:"secret" validate:"required,max=256"`
}

// ServiceTokenResponse answers a service-token request.
type ServiceTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Detail is the body of answers that carry only a message.
type Detail struct {
	Detail string `json:"detail"`
}

// DoctorListing is how any signed-in user sees a doctor: enough to book.
type DoctorListing struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// PatientListing is how staff find a patient: enough to tell two apart.
type PatientListing struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Sex         *string `json:"sex"`
	DateOfBirth *string `json:"date_of_birth"`
}

// ListFilter selects users for the lists.
type ListFilter struct {
	Role     string
	IsActive *bool
	Search   string
	Offset   int
	Limit    int
}

// RefreshToken is a stored refresh token (its hash, never the token).
type RefreshToken struct {
	ID        int64
	Hash      string
	FamilyID  string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	Used      bool
	Revoked   bool
}

// ResetToken is a stored password-reset token (its hash).
type ResetToken struct {
	ID        int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	Used      bool
}

// Email token purposes.
const (
	EmailVerify = "VERIFY" // confirms the address the account has
	EmailChange = "CHANGE" // makes Email the account's address
)

// EmailToken is a stored link that confirms an address (its hash).
type EmailToken struct {
	ID        int64
	Hash      string
	UserID    int64
	Email     string
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
	Used      bool
}

// EmailConfirmRequest is the body of email/confirm/.
type EmailConfirmRequest struct {
	Token string `json:"token" validate:"required,max=200"`
}

// EmailConfirmed answers a confirmed link.
type EmailConfirmed struct {
	Detail string `json:"detail"`
	Email  string `json:"email"`
}
