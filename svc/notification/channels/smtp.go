package channels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"hospital/svc/notification/notify"
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	Addr     string // host:port
	Username string
	Password string
	// TLS is none (plain; local Mailpit), starttls (STARTTLS required),
	// opportunistic (STARTTLS when offered) or tls (implicit TLS, port 465).
	TLS     string
	From    string // "Name <address>" or an address
	HELO    string
	Timeout time.Duration
	// MessagesPerConn is how many messages one connection carries before a
	// fresh one is opened (500).
	MessagesPerConn int
}

// Connections idle longer than this are closed rather than reused: servers
// drop idle sessions, and a fresh one costs little next to a failed send.
const smtpIdleFor = 30 * time.Second

// maxIdleSMTP bounds the connections kept open between messages.
const maxIdleSMTP = 64

// SMTPSender sends email through an SMTP server with go-mail. It keeps
// connections open between messages and sends many on each (MAIL, RCPT,
// DATA, RSET): a new connection per message (TCP, greeting, EHLO, QUIT)
// would cost more than the message itself. Each Send uses a connection of
// its own, so concurrent sends go out in parallel.
type SMTPSender struct {
	host     string
	opts     []gomail.Option
	from     *mail.Address
	idDomain string
	perConn  int

	mu     sync.Mutex
	idle   []*smtpConn
	closed bool
}

type smtpConn struct {
	client *gomail.Client
	c      *smtp.Client
	sent   int
	last   time.Time
}

// NewSMTPSender checks cfg and returns the sender.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("SMTP_ADDR %q: want host:port", cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("SMTP_ADDR %q: bad port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("SMTP_FROM %q: %w", cfg.From, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MessagesPerConn <= 0 {
		cfg.MessagesPerConn = 500
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(cfg.Timeout)}
	switch strings.ToLower(cfg.TLS) {
	case "", "none":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.NoTLS))
	case "starttls":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSOpportunistic))
	case "tls":
		opts = append(opts, gomail.WithSSLPort(false))
	default:
		return nil, fmt.Errorf("SMTP_TLS %q: want none, starttls, opportunistic or tls", cfg.TLS)
	}
	// WithSSLPort and WithTLSPortPolicy pick a default port: ours wins.
	opts = append(opts, gomail.WithPort(port))
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	s := &SMTPSender{host: host, opts: opts, from: from, idDomain: domain, perConn: cfg.MessagesPerConn}
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("smtp settings: %w", err)
	}
	return s, nil
}

// Name implements notify.Sender.
func (s *SMTPSender) Name() string { return "smtp" }

// MessageID implements notify.MessageNamer: the Message-ID of a log's
// email, derived from the log id, so a message in a mailbox can be traced
// back to its log.
func (s *SMTPSender) MessageID(logID string) string { return "<" + logID + "@" + s.idDomain + ">" }

// Send delivers m; the provider id is its Message-ID (MessageID).
func (s *SMTPSender) Send(ctx context.Context, m notify.Message) (string, error) {
	msg, err := s.message(m)
	if err != nil {
		return "", err
	}
	conn, reused, err := s.conn(ctx)
	if err != nil {
		return "", fmt.Errorf("smtp connect to %s: %w", s.host, err)
	}
	err = conn.client.SendWithSMTPClient(conn.c, msg)
	if err != nil && reused && !msg.IsDelivered() && connectionGone(err) {
		// The server closed the idle connection (the check before MAIL
		// failed): nothing went out on it, so a fresh one may send.
		closeConn(conn)
		if conn, err = s.dial(ctx); err != nil {
			return "", fmt.Errorf("smtp connect to %s: %w", s.host, err)
		}
		err = conn.client.SendWithSMTPClient(conn.c, msg)
	}
	if msg.IsDelivered() {
		// Accepted. A failure after that (the RSET) only ends the
		// connection.
		if err != nil {
			closeConn(conn)
		} else {
			s.release(conn)
		}
		return s.MessageID(m.LogID), nil
	}
	closeConn(conn)
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return "", notify.Permanent(fmt.Errorf("smtp server refused the message: %w", err))
	}
	return "", fmt.Errorf("smtp send: %w", err)
}

func (s *SMTPSender) message(m notify.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, notify.Permanent(fmt.Errorf("recipient address refused: %w", err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.LogID + "@" + s.idDomain)
	msg.SetDate()
	msg.SetGenHeader("X-Notification-Type", m.NotificationType)
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// connectionGone: the connection check before MAIL failed.
func connectionGone(err error) bool {
	var se *gomail.SendError
	return errors.As(err, &se) && se.Reason == gomail.ErrConnCheck
}

// conn is an idle connection, or a new one.
func (s *SMTPSender) conn(ctx context.Context) (*smtpConn, bool, error) {
	for {
		s.mu.Lock()
		n := len(s.idle)
		if n == 0 {
			s.mu.Unlock()
			c, err := s.dial(ctx)
			return c, false, err
		}
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		if time.Since(c.last) < smtpIdleFor {
			return c, true, nil
		}
		closeConn(c)
	}
}

func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return nil, err
	}
	c, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return &smtpConn{client: client, c: c}, nil
}

// release keeps a healthy connection for the next message.
func (s *SMTPSender) release(c *smtpConn) {
	c.sent++
	c.last = time.Now()
	s.mu.Lock()
	keep := !s.closed && c.sent < s.perConn && len(s.idle) < maxIdleSMTP
	if keep {
		s.idle = append(s.idle, c)
	}
	s.mu.Unlock()
	if !keep {
		closeConn(c)
	}
}

// Close ends the idle connections; later sends open new ones and close
// them after use.
func (s *SMTPSender) Close() {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

// closeConn says QUIT, or drops the connection when that fails.
func closeConn(c *smtpConn) {
	if err := c.client.CloseWithSMTPClient(c.c); err != nil {
		_ = c.c.Close()
	}
}
