package channels

import (
	"context"
	"log/slog"
	"sync"

	"hospital/svc/notification/notify"
)

// sinkProviderPrefix starts the provider id of a message a sink kept.
const sinkProviderPrefix = "sink-"

// Sink keeps messages instead of sending them: the SMS and PUSH adapter for
// local runs and tests, where no provider account exists. It logs that a
// message was kept (never its content).
type Sink struct {
	channel string
	log     *slog.Logger
	mu      sync.Mutex
	sent    []notify.Message
}

// NewSink returns a sink for channel.
func NewSink(channel string, log *slog.Logger) *Sink {
	if log == nil {
		log = slog.Default()
	}
	return &Sink{channel: channel, log: log}
}

// Name implements notify.Sender.
func (s *Sink) Name() string { return "sink" }

// Send implements notify.Sender.
func (s *Sink) Send(ctx context.Context, m notify.Message) (string, error) {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	s.log.InfoContext(ctx, "message kept by the local sink", "channel", s.channel, "log_id", m.LogID)
	return sinkProviderPrefix + m.LogID, nil
}

// Sent returns what the sink has kept.
func (s *Sink) Sent() []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]notify.Message(nil), s.sent...)
}
