package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Mailpit is an SMTP sink of its own (Mailpit), read back through its HTTP
// API. Each test starts its own, so message counts are the test's alone.
type Mailpit struct {
	// SMTPAddr is host:port of the SMTP listener (a service's SMTP_ADDR).
	SMTPAddr string
	// URL is the base of the web UI and API.
	URL string

	smtpPort, httpPort int
	dir                string
	mu                 sync.Mutex
	proc               *Proc
}

// StartMailpit starts Mailpit on free SMTP and HTTP ports, stopped when t
// ends. It accepts any SMTP credentials (and none), stores every message
// (no pruning) and has chaos triggers enabled (see SetChaos).
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	m, err := retryStart(3, func() (*Mailpit, error) {
		smtpPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		httpPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		m := &Mailpit{
			SMTPAddr: "127.0.0.1:" + strconv.Itoa(smtpPort),
			URL:      "http://127.0.0.1:" + strconv.Itoa(httpPort),
			smtpPort: smtpPort, httpPort: httpPort, dir: t.TempDir(),
		}
		return m, m.start()
	})
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	t.Cleanup(m.Stop)
	return m
}

func (m *Mailpit) start() error {
	bin, err := Binary("mailpit")
	if err != nil {
		return err
	}
	proc, err := Start(m.dir, "mailpit", bin, []string{
		"--listen=" + "127.0.0.1:" + strconv.Itoa(m.httpPort),
		"--smtp=" + m.SMTPAddr,
		"--database=" + filepath.Join(m.dir, "mailpit.db"),
		"--max=0",
		"--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure",
		"--enable-chaos",
		"--disable-version-check",
		"--quiet",
	}, nil)
	if err != nil {
		return err
	}
	if err := Until(context.Background(), 30*time.Second, proc, func(ctx context.Context) error {
		if err := HTTPOK(m.URL + "/readyz")(ctx); err != nil {
			return err
		}
		return TCPOpen(m.SMTPAddr)(ctx)
	}); err != nil {
		proc.Kill()
		return err
	}
	m.mu.Lock()
	m.proc = proc
	m.mu.Unlock()
	return nil
}

// Stop ends Mailpit (SMTP goes down); the stored messages are kept for Start.
func (m *Mailpit) Stop() {
	m.mu.Lock()
	p := m.proc
	m.proc = nil
	m.mu.Unlock()
	if p != nil {
		_ = p.Stop(10 * time.Second)
	}
}

// Start brings a stopped Mailpit back on the same ports with its messages.
func (m *Mailpit) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatalf("mailpit restart: %v", err)
	}
}

// MailAddress is a sender or recipient.
type MailAddress struct {
	Name    string
	Address string
}

// MailSummary is a message as listed.
type MailSummary struct {
	ID        string
	MessageID string
	From      *MailAddress
	To        []MailAddress
	Subject   string
	Created   time.Time
	Snippet   string
}

// Mail is one message in full.
type Mail struct {
	ID        string
	MessageID string
	From      *MailAddress
	To        []MailAddress
	Subject   string
	Date      time.Time
	Text      string
	HTML      string
}

type mailList struct {
	Total         int           `json:"total"`
	MessagesCount int           `json:"messages_count"`
	Messages      []MailSummary `json:"messages"`
}

// Messages lists every stored message, newest first.
func (m *Mailpit) Messages(ctx context.Context) ([]MailSummary, error) {
	return m.list(ctx, "/api/v1/messages", nil)
}

// Search lists the messages matching a Mailpit search query, such as
// "to:someone@example.com" or `subject:"Reset"`.
func (m *Mailpit) Search(ctx context.Context, query string) ([]MailSummary, error) {
	return m.list(ctx, "/api/v1/search", url.Values{"query": {query}})
}

func (m *Mailpit) list(ctx context.Context, path string, q url.Values) ([]MailSummary, error) {
	if q == nil {
		q = url.Values{}
	}
	var out []MailSummary
	const page = 500
	for start := 0; ; start += page {
		q.Set("start", strconv.Itoa(start))
		q.Set("limit", strconv.Itoa(page))
		var l mailList
		if err := m.get(ctx, path+"?"+q.Encode(), &l); err != nil {
			return nil, err
		}
		out = append(out, l.Messages...)
		if len(l.Messages) < page {
			return out, nil
		}
	}
}

// Count is the number of stored messages.
func (m *Mailpit) Count(ctx context.Context) (int, error) {
	var l mailList
	if err := m.get(ctx, "/api/v1/messages?limit=1", &l); err != nil {
		return 0, err
	}
	return l.Total, nil
}

// Message reads one message (text and HTML bodies included).
func (m *Mailpit) Message(ctx context.Context, id string) (Mail, error) {
	var mail Mail
	err := m.get(ctx, "/api/v1/message/"+url.PathEscape(id), &mail)
	return mail, err
}

// WaitFor waits until query matches at least n messages and returns them.
func (m *Mailpit) WaitFor(t testing.TB, query string, n int, timeout time.Duration) []MailSummary {
	t.Helper()
	var found []MailSummary
	err := Until(context.Background(), timeout, nil, func(ctx context.Context) error {
		var err error
		if found, err = m.Search(ctx, query); err != nil {
			return err
		}
		if len(found) < n {
			return fmt.Errorf("%d messages match %q, want %d", len(found), query, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// WaitCount waits until exactly n messages are stored in all.
func (m *Mailpit) WaitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	err := Until(context.Background(), timeout, nil, func(ctx context.Context) error {
		c, err := m.Count(ctx)
		if err != nil {
			return err
		}
		if c != n {
			return fmt.Errorf("mailpit holds %d messages, want %d", c, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ChaosTrigger makes the SMTP server answer ErrorCode (400-599) at a stage,
// with Probability percent.
type ChaosTrigger struct {
	ErrorCode   int
	Probability int
}

// Chaos sets failures at each SMTP stage; the zero value turns them off.
type Chaos struct {
	Sender         ChaosTrigger
	Recipient      ChaosTrigger
	Authentication ChaosTrigger
}

// SetChaos makes the SMTP server fail as c says (e.g. Recipient 550 at 100%
// for a permanent refusal, 451 for a temporary one).
func (m *Mailpit) SetChaos(ctx context.Context, c Chaos) error {
	body, _ := json.Marshal(c)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.URL+"/api/v1/chaos", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("mailpit chaos: %d %s", resp.StatusCode, b)
	}
	return nil
}

func (m *Mailpit) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("mailpit GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// LogTail returns the end of Mailpit's log (for failure messages).
func (m *Mailpit) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "mailpit.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
