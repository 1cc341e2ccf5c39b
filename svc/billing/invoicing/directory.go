package invoicing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"hospital/lib/svcclient"
	"hospital/lib/userapi"
)

// UserDirectory looks users up through lib/userapi. Until the user
// service serves the userapi internal endpoints everywhere, a user the
// internal endpoint does not know is asked for once more on the admin path
// (as the appointment service still does); drop legacy then.
type UserDirectory struct {
	api    userapi.Client
	legacy *svcclient.Client
}

// NewUserDirectory returns the directory calling through c.
func NewUserDirectory(c *svcclient.Client) UserDirectory {
	return UserDirectory{api: userapi.NewClient(c), legacy: c}
}

// User returns the user with id, or userapi.ErrNotFound.
func (d UserDirectory) User(ctx context.Context, id int64) (userapi.User, error) {
	u, err := d.api.User(ctx, id)
	if !errors.Is(err, userapi.ErrNotFound) {
		return u, err
	}
	err = d.legacy.JSON(ctx, userapi.Service, http.MethodGet, "/api/v1/admin/users/"+strconv.FormatInt(id, 10)+"/", nil, &u)
	if svcclient.HasStatus(err, http.StatusNotFound) || svcclient.HasStatus(err, http.StatusForbidden) {
		return u, userapi.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("look up user %d: %w", id, svcclient.Refused(userapi.Service, err))
	}
	return u, nil
}
