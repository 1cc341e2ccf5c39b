// Package userapi is the user service's contract with the services that
// call it: the paths, the shapes of the answers and a typed client. A caller
// depends on a one-method interface of its own, which Client satisfies.
package userapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hospital/lib/cache"
	"hospital/lib/svcclient"
)

// Service is the user service's name in Consul.
const Service = "user"

// Paths of the user service's internal endpoints (service tokens only; the
// user service's routes say which services may call each).
const (
	JWKSPath         = svcclient.JWKSPath
	ServiceTokenPath = svcclient.ServiceTokenPath
	usersPath        = "/api/v1/users/internal/users/"
)

// UserPath is GET: the user's summary (User).
func UserPath(id int64) string { return usersPath + strconv.FormatInt(id, 10) + "/" }

// ContactPath is GET: how to reach the user (Contact); the notification service only.
func ContactPath(id int64) string { return UserPath(id) + "contact-info/" }

// ListPath is GET: users with a role (?role=&is_active=), paginated; a Page of User.
const ListPath = usersPath

// User is what other services learn about a user: enough to check a role and
// show a name, nothing more (no email, phone or password data).
type User struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Role        string  `json:"role"`
	IsActive    bool    `json:"is_active"`
	Sex         *string `json:"sex"`           // "M", "F" or null when unknown
	DateOfBirth *string `json:"date_of_birth"` // YYYY-MM-DD or null when unknown
}

// DisplayName is "First Last", or the username when both are empty.
func (u User) DisplayName() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Username
}

// Contact is how the notification service reaches a user.
type Contact struct {
	UserID      int64   `json:"user_id"`
	Email       string  `json:"email"`
	PhoneNumber *string `json:"phone_number"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Username    string  `json:"username"`
	PushToken   *string `json:"push_token"`
	// Language is the user's preferred language: "vi" or "en".
	Language string `json:"language"`
}

// UserPage is one page of ListPath.
type UserPage struct {
	Count   int     `json:"count"`
	Next    *string `json:"next"`
	Results []User  `json:"results"`
}

// ErrNotFound: the user service knows no user with that id.
var ErrNotFound = errors.New("user not found")

// Client calls the user service.
type Client struct{ c *svcclient.Client }

// NewClient returns a client sending through c (with c's service token).
func NewClient(c *svcclient.Client) Client { return Client{c: c} }

// User returns the user with id, or ErrNotFound.
func (c Client) User(ctx context.Context, id int64) (User, error) {
	var u User
	err := c.c.JSON(ctx, Service, http.MethodGet, UserPath(id), nil, &u)
	if svcclient.HasStatus(err, http.StatusNotFound) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("look up user %d: %w", id, svcclient.Refused(Service, err))
	}
	return u, nil
}

// Contact returns how to reach the user with id, or ErrNotFound.
func (c Client) Contact(ctx context.Context, id int64) (Contact, error) {
	var ci Contact
	err := c.c.JSON(ctx, Service, http.MethodGet, ContactPath(id), nil, &ci)
	if svcclient.HasStatus(err, http.StatusNotFound) {
		return ci, ErrNotFound
	}
	if err != nil {
		return ci, fmt.Errorf("contact info of user %d: %w", id, svcclient.Refused(Service, err))
	}
	return ci, nil
}

// ActiveWithRole returns every active user with role (all pages).
func (c Client) ActiveWithRole(ctx context.Context, role string) ([]User, error) {
	var out []User
	for page := 1; ; page++ {
		q := url.Values{"role": {role}, "is_active": {"true"}, "page": {strconv.Itoa(page)}, "page_size": {"100"}}
		var p UserPage
		if err := c.c.JSON(ctx, Service, http.MethodGet, ListPath+"?"+q.Encode(), nil, &p); err != nil {
			return nil, fmt.Errorf("list %s users: %w", role, svcclient.Refused(Service, err))
		}
		out = append(out, p.Results...)
		if p.Next == nil || len(p.Results) == 0 {
			return out, nil
		}
	}
}

// Lookup finds one user (Client satisfies it).
type Lookup interface {
	User(ctx context.Context, id int64) (User, error)
}

// Cached answers repeated lookups of one user from memory for at most ttl:
// names and roles change rarely, and a request must not cost a call to the
// user service each time. A deactivation therefore reaches the caller's
// decisions at most ttl late (tokens are revoked at once regardless);
// callers bound ttl and document it. Failures and unknown ids are not kept.
func Cached(next Lookup, size int, ttl time.Duration) Lookup {
	return cachedLookup{next: next, c: cache.New[int64, User](size, ttl)}
}

type cachedLookup struct {
	next Lookup
	c    *cache.TTL[int64, User]
}

func (l cachedLookup) User(ctx context.Context, id int64) (User, error) {
	return l.c.Get(ctx, id, func(ctx context.Context) (User, error) { return l.next.User(ctx, id) })
}
