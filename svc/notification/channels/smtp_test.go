package channels

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"hospital/lib/testkit"
	"hospital/svc/notification/notify"
)

func (s *SMTPSender) idleConns() (n, sent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.idle {
		sent += c.sent
	}
	return len(s.idle), sent
}

func msg(i int) notify.Message {
	return notify.Message{LogID: fmt.Sprintf("%024x", i), NotificationType: "USER_REGISTERED",
		To: fmt.Sprintf("p%d@patients.test", i), Subject: fmt.Sprintf("m%d", i), Text: "t"}
}

// Messages share connections: one at a time use one connection, parallel
// sends one each; a connection carries at most MessagesPerConn messages.
func TestSMTPKeepsConnectionsOpen(t *testing.T) {
	mp := testkit.StartMailpit(t)
	s, err := NewSMTPSender(SMTPConfig{Addr: mp.SMTPAddr, From: "no-reply@hospital.test", Timeout: 3 * time.Second, MessagesPerConn: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 20 {
		if _, err := s.Send(ctx, msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, sent := s.idleConns(); n != 1 || sent != 20 {
		t.Fatalf("after 20 sends one by one: %d connections, %d messages on them; want 1 and 20", n, sent)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := s.Send(ctx, msg(100+g*10+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, sent := s.idleConns(); n < 1 || n > 4 || sent != 60 {
		t.Fatalf("after parallel sends: %d connections, %d messages; want 1 to 4 and 60", n, sent)
	}
	// Rotation: 50 per connection.
	for i := range 45 {
		if _, err := s.Send(ctx, msg(200+i)); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	for _, c := range s.idle {
		if c.sent >= 50 {
			t.Errorf("a connection carried %d messages", c.sent)
		}
	}
	s.mu.Unlock()
	mp.WaitCount(t, 105, 10*time.Second)
	if n, _ := mp.Count(ctx); n != 105 {
		t.Fatalf("%d messages arrived, want 105", n)
	}
	s.Close()
	if n, _ := s.idleConns(); n != 0 {
		t.Fatalf("%d connections left open after Close", n)
	}
	if _, err := s.Send(ctx, msg(999)); err != nil {
		t.Fatalf("a send after Close: %v", err)
	}
}

// The server drops the idle connection (here: it restarts): the next
// message goes out on a fresh one, once.
func TestSMTPReconnectsAfterTheServerDropsTheConnection(t *testing.T) {
	mp := testkit.StartMailpit(t)
	s, err := NewSMTPSender(SMTPConfig{Addr: mp.SMTPAddr, From: "no-reply@hospital.test", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Send(ctx, msg(1)); err != nil {
		t.Fatal(err)
	}
	mp.Stop()
	mp.Start(t)
	if _, err := s.Send(ctx, msg(2)); err != nil {
		t.Fatalf("send after the server dropped the connection: %v", err)
	}
	mp.WaitCount(t, 2, 10*time.Second)
	if n, _ := mp.Count(ctx); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}
