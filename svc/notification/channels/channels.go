// Package channels holds the delivery adapters, one per channel and
// provider: EMAIL over SMTP (go-mail), SMS through the Twilio Messages API,
// PUSH through FCM HTTP v1, and a local sink for SMS and PUSH where no
// provider account exists. Each implements notify.Sender.
package channels

import (
	"fmt"
	"log/slog"
	"strings"

	"hospital/lib/notificationapi"
	"hospital/svc/notification/notify"
)

// Settings select and configure the adapters.
type Settings struct {
	SMTP         SMTPConfig
	SMSProvider  string // sink | twilio
	Twilio       TwilioConfig
	PushProvider string // sink | fcm
	FCM          FCMConfig
}

// FromConfig is the adapters' part of the service configuration.
func FromConfig(c notify.Config) Settings {
	return Settings{
		SMTP: SMTPConfig{
			Addr: c.SMTPAddr, Username: c.SMTPUsername, Password: c.SMTPPassword, TLS: c.SMTPTLS,
			From: c.SMTPFrom, HELO: c.SMTPHelo, Timeout: c.SMTPTimeout, MessagesPerConn: c.SMTPMessagesPerConn,
		},
		SMSProvider: strings.ToLower(c.SMSProvider),
		Twilio: TwilioConfig{
			AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken, From: c.TwilioFrom,
			MessagingServiceSID: c.TwilioMessagingSID, BaseURL: c.TwilioBaseURL,
		},
		PushProvider: strings.ToLower(c.PushProvider),
		FCM:          FCMConfig{ProjectID: c.FCMProjectID, CredentialsFile: c.FCMCredentialsFile, BaseURL: c.FCMBaseURL},
	}
}

// Build returns the adapter for each channel, as configured, and a
// function that closes what they keep open.
func Build(cfg Settings, log *slog.Logger) (notify.Senders, func(), error) {
	smtp, err := NewSMTPSender(cfg.SMTP)
	if err != nil {
		return nil, nil, err
	}
	out := notify.Senders{notificationapi.ChannelEmail: smtp}
	switch cfg.SMSProvider {
	case "", "sink":
		out[notificationapi.ChannelSMS] = NewSink(notificationapi.ChannelSMS, log)
	case "twilio":
		if out[notificationapi.ChannelSMS], err = NewTwilioSender(cfg.Twilio); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("SMS_PROVIDER %q: want sink or twilio", cfg.SMSProvider)
	}
	switch cfg.PushProvider {
	case "", "sink":
		out[notificationapi.ChannelPush] = NewSink(notificationapi.ChannelPush, log)
	case "fcm":
		if out[notificationapi.ChannelPush], err = NewFCMSender(cfg.FCM); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("PUSH_PROVIDER %q: want sink or fcm", cfg.PushProvider)
	}
	return out, smtp.Close, nil
}
