package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"hospital/lib/svcclient"
	"hospital/lib/userapi"
)

// Calls to other services. The notification service calls one: the user
// service, for a recipient's contact information. Everything else reaches
// it (the senders' outboxes call /send/).

// UserDirectory reads contact info through the user service's contract
// (userapi.ContactPath). A user service that does not serve that path yet
// answers 404 there; the directory then asks the path it served before
// (GET /api/v1/admin/users/{id}/contact-info/, same answer), so either
// version of the user service works. Drop the fallback once every user
// service serves the contract's path.
type UserDirectory struct {
	users  userapi.Client
	client *svcclient.Client
}

// NewUserDirectory calls the user service through c (with c's service token).
func NewUserDirectory(c *svcclient.Client) UserDirectory {
	return UserDirectory{users: userapi.NewClient(c), client: c}
}

// Contact implements Directory.
func (d UserDirectory) Contact(ctx context.Context, id int64) (userapi.Contact, error) {
	c, err := d.users.Contact(ctx, id)
	if !errors.Is(err, userapi.ErrNotFound) {
		return c, err
	}
	return d.legacyContact(ctx, id)
}

func legacyContactPath(id int64) string {
	return "/api/v1/admin/users/" + strconv.FormatInt(id, 10) + "/contact-info/"
}

func (d UserDirectory) legacyContact(ctx context.Context, id int64) (userapi.Contact, error) {
	var c userapi.Contact
	err := d.client.JSON(ctx, userapi.Service, "GET", legacyContactPath(id), nil, &c)
	if svcclient.HasStatus(err, 404) {
		return c, userapi.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("contact info of user %d: %w", id, svcclient.Refused(userapi.Service, err))
	}
	return c, nil
}
