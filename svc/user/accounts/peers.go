package accounts

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"hospital/lib/audit"
	"hospital/lib/auth"
	"hospital/lib/notificationapi"
	"hospital/lib/outbox"
)

// Everything the user service asks of other services: notifications, each
// an outbox message written with the change that causes it, under a key
// derived from that change so a replay is harmless.

//
// Messages carrying a link with a token are Sensitive: the notification
// service delivers them but never stores or shows their content.

// Pages the links in emails open, served by this service through the gateway.
const (
	EmailConfirmPagePath = "/api/v1/users/email/confirm/page/"
	ResetPagePath        = "/api/v1/users/password/reset/page/"
)

func (s *Service) link(path, rawToken string) string {
	return s.opts.PublicBaseURL + path + "?token=" + url.QueryEscape(rawToken)
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Service) registeredMessage(u User, rawToken string) outbox.Message {
	return notificationapi.Message("user-registered:"+id(u.ID), notificationapi.SendRequest{
		NotificationType: notificationapi.UserRegistered, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data:      map[string]string{"user_name": u.Username, "confirmation_link": s.link(EmailConfirmPagePath, rawToken)},
		Sensitive: true,
	})
}

func (s *Service) resetMessage(u User, resetID int64, rawToken string) outbox.Message {
	return notificationapi.Message("password-reset:"+id(resetID), notificationapi.SendRequest{
		NotificationType: notificationapi.PasswordResetRequested, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data:      map[string]string{"user_name": u.Username, "reset_link": s.link(ResetPagePath, rawToken)},
		Sensitive: true,
	})
}

// messageTo is a send request for an address other than the account's own.
func messageTo(key, address string, req notificationapi.SendRequest) outbox.Message {
	req.RecipientContact = &notificationapi.Contact{Email: address}
	return notificationapi.Message(key, req)
}

// emailChangeRequestedMessage goes to the new address, with the link that
// makes it the account's.
func (s *Service) emailChangeRequestedMessage(u User, address string, tokenID int64, rawToken string) outbox.Message {
	return messageTo("email-change-requested:"+id(tokenID), address, notificationapi.SendRequest{
		NotificationType: notificationapi.EmailChangeRequested, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{
			"user_name": u.Username, "new_email": address, "confirmation_link": s.link(EmailConfirmPagePath, rawToken),
		},
		Sensitive: true,
	})
}

// emailChangedMessage tells the old address that the account's address is
// now new_email.
func (s *Service) emailChangedMessage(u User, old string, tokenID int64) outbox.Message {
	return messageTo("email-changed:"+id(tokenID), old, notificationapi.SendRequest{
		NotificationType: notificationapi.EmailChanged, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{"user_name": u.Username, "new_email": u.Email, "old_email": old},
	})
}

// passwordChangedMessage tells the owner their password changed (by them,
// or through a reset link), so a takeover does not go unnoticed.
func (s *Service) passwordChangedMessage(u User, at time.Time) outbox.Message {
	return notificationapi.Message("password-changed:"+id(u.ID)+":"+strconv.FormatInt(at.UnixMilli(), 10), notificationapi.SendRequest{
		NotificationType: notificationapi.PasswordChanged, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{"user_name": u.Username},
	})
}

// accountLockedMessage tells the owner sign-ins are slowed after repeated
// failures (someone may be guessing their password). One per minute at most.
func (s *Service) accountLockedMessage(u User, at time.Time) outbox.Message {
	return notificationapi.Message("account-locked:"+id(u.ID)+":"+strconv.FormatInt(at.Unix()/60, 10), notificationapi.SendRequest{
		NotificationType: notificationapi.AccountLocked, RecipientID: u.ID, Channel: notificationapi.ChannelEmail,
		Data: map[string]string{"user_name": u.Username},
	})
}

// auditEvent is an audit record (lib/audit, to the admin service's log) of
// action on u: every change to an account, every read of a patient's.
func auditEvent(ctx context.Context, action string, u User) outbox.Message {
	ev := audit.New(ctx, "user", action).On("user", id(u.ID))
	if u.Role == auth.RolePatient {
		ev = ev.OnPatient(u.ID)
	}
	return ev.Message()
}

// audited records action on u in its own transaction (reads, and changes
// whose transaction is the store's own).
func (s *Service) audited(ctx context.Context, action string, u User) error {
	if err := s.store.InTx(ctx, func(tx Store) error { return tx.Enqueue(ctx, auditEvent(ctx, action, u)) }); err != nil {
		return err
	}
	s.opts.Kick()
	return nil
}
