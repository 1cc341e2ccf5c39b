package accounts

import (
	"net/url"
	"strconv"

	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// Everything the user service asks of other services: notifications, each
// an outbox message written with the change that causes it, under a key
// derived from that change so a replay is harmless.

func (s *Service) registeredMessage(u User) outbox.Message {
	return notificationapi.Message("user-registered:"+strconv.FormatInt(u.ID, 10), notificationapi.SendRequest{
		NotificationType: notificationapi.UserRegistered, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{"user_name": u.Username, "confirmation_link": s.opts.PublicBaseURL + "/login"},
	})
}

func (s *Service) resetMessage(u User, resetID int64, rawToken string) outbox.Message {
	return notificationapi.Message("password-reset:"+strconv.FormatInt(resetID, 10), notificationapi.SendRequest{
		NotificationType: notificationapi.PasswordResetRequested, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{
			"user_name":  u.Username,
			"reset_link": s.opts.PublicBaseURL + "/reset-password?token=" + url.QueryEscape(rawToken),
		},
	})
}
