package notify

import (
	"hospital/lib/svcclient"
	"hospital/lib/userapi"
)

// Calls to other services. The notification service calls one: the user
// service, for a recipient's contact information (userapi.ContactPath,
// which admits this service's token only). Everything else reaches it: the
// senders' outboxes call /send/.

// NewDirectory is the user service's contact info as a Directory, called
// through c with this service's token.
func NewDirectory(c *svcclient.Client) Directory { return userapi.NewClient(c) }
