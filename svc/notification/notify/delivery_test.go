package notify_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"hospital/lib/apperr"
	"hospital/lib/notificationapi"
	"hospital/lib/testkit"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// SMTP down: the log is retried with backoff and sent once the server is
// back.
func TestSMTPOutageThenRecovery(t *testing.T) {
	e := nt.New(t, nt.Config{Worker: notify.WorkerOptions{MaxAttempts: 1000}})
	e.Mail.Stop()
	a := e.MustSend(nt.Registered(e.Patient, "lan"), "k1")
	l := e.WaitLog(a.LogID, "retried", func(l notify.Log) bool {
		return l.Attempts >= 2 && l.Status == notify.StatusPending && l.ErrorMessage != nil
	})
	if !strings.Contains(*l.ErrorMessage, "smtp") || !l.NextAttemptAt.After(l.CreatedAt) {
		t.Fatalf("log while SMTP is down: %+v", l)
	}
	e.Mail.Start(t)
	l = e.WaitLog(a.LogID, "sent", nt.Sent)
	if l.Attempts < 3 || l.ErrorMessage != nil {
		t.Fatalf("log after recovery: %+v", l)
	}
	if got, _ := e.Mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 1 {
		t.Fatalf("%d emails, want 1", len(got))
	}
}

// With the attempts used up a log ends FAILED with the reason, and an admin
// can queue it again.
func TestAttemptsUsedUpEndFailed(t *testing.T) {
	e := nt.New(t, nt.Config{Worker: notify.WorkerOptions{MaxAttempts: 3}})
	e.Mail.Stop()
	a := e.MustSend(nt.Registered(e.Doctor, "binh"), "k2")
	l := e.WaitLog(a.LogID, "failed", func(l notify.Log) bool { return l.Status == notify.StatusFailed })
	if l.Attempts != 3 || l.ErrorMessage == nil || !strings.HasPrefix(*l.ErrorMessage, "gave up after 3 attempts") {
		t.Fatalf("failed log: attempts %d error %v", l.Attempts, l.ErrorMessage)
	}
	list, n, err := e.Svc.ListLogs(nt.As(nt.Admin), notify.LogFilter{Status: notify.StatusFailed, Limit: 10})
	if err != nil || n != 1 || !strings.HasPrefix(*list[0].ErrorMessage, "gave up") {
		t.Fatalf("failed list: %d %+v %v", n, list, err)
	}
	_, err = e.Svc.RetryLog(nt.As(nt.Service("user")), a.LogID)
	wantKind(t, "retry by a service", err, apperr.KindForbidden)
	e.Mail.Start(t)
	if _, err := e.Svc.RetryLog(nt.As(nt.Admin), a.LogID); err != nil {
		t.Fatal(err)
	}
	if l = e.WaitLog(a.LogID, "sent", nt.Sent); l.Attempts != 1 {
		t.Fatalf("attempts after an admin retry: %d, want a fresh count", l.Attempts)
	}
	_, err = e.Svc.RetryLog(nt.As(nt.Admin), a.LogID)
	wantKind(t, "retry a sent log", err, apperr.KindConflict)
	if got, _ := e.Mail.Search(context.Background(), "to:dr.binh@hospital.test"); len(got) != 1 {
		t.Fatalf("%d emails after the retry, want 1", len(got))
	}
}

// Two instances (their own connections, their own workers) on one
// database: every queued log is sent exactly once.
func TestTwoWorkersSendEachLogOnce(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	const n = 60
	for i := range n {
		in := nt.Registered(e.Patient, "p"+strconv.Itoa(i))
		in.RecipientContact = &notify.ContactOverride{Email: fmt.Sprintf("p%d@patients.test", i)}
		e.MustSend(in, "reg:"+strconv.Itoa(i))
	}
	// Small batches, so that the two take turns.
	w1 := e.NewWorker(e.NewStore("one"), notify.WorkerOptions{Instance: "worker-1", Concurrency: 3, Batch: 7})
	w2 := e.NewWorker(e.NewStore("two"), notify.WorkerOptions{Instance: "worker-2", Concurrency: 3, Batch: 7})
	nt.RunWorker(t, w1)
	nt.RunWorker(t, w2)
	e.WaitAllSent()
	e.Mail.WaitCount(t, n, 20*time.Second)
	msgs, err := e.Mail.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perAddress := map[string]int{}
	for _, m := range msgs {
		perAddress[m.To[0].Address]++
	}
	for i := range n {
		if c := perAddress[fmt.Sprintf("p%d@patients.test", i)]; c != 1 {
			t.Fatalf("p%d got %d emails", i, c)
		}
	}
	logs, _, _ := e.Store.ListLogs(context.Background(), notify.LogFilter{Limit: n})
	by := map[string]int{}
	for _, l := range logs {
		if l.Attempts != 1 || l.Claims != 1 {
			t.Fatalf("log %s took %d attempts, %d claims", l.ID, l.Attempts, l.Claims)
		}
		by[l.SentBy]++
	}
	t.Logf("sent by: %v", by)
}

// The service stops with logs queued; started again, it sends each once. A
// log whose holder died mid-delivery is taken over when its claim expires.
func TestRestartDeliversWhatWasQueued(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.MustSend(nt.Registered(e.Patient, "lan"+strconv.Itoa(i)), "restart:"+strconv.Itoa(i)).LogID)
	}
	// A holder that claimed the first log and died without a word.
	first, err := e.Store.GetLog(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	claims, err := e.NewStore("dead").Claim(context.Background(), []notify.Log{first}, time.Now(), 4*time.Second)
	if err != nil || len(claims) != 1 {
		t.Fatalf("dead holder's claim: %v %v", claims, err)
	}
	if n, _ := e.Mail.Count(context.Background()); n != 0 {
		t.Fatalf("%d emails before any worker ran", n)
	}

	// "Restart": a fresh instance with its own store and worker.
	w := e.NewWorker(e.NewStore("restarted"), notify.WorkerOptions{Instance: "restarted"})
	nt.RunWorker(t, w)
	for _, id := range ids[1:] {
		e.WaitLog(id, "sent", nt.Sent)
	}
	if l, _ := e.Store.GetLog(context.Background(), ids[0]); l.Status != notify.StatusPending {
		t.Fatalf("log held by another instance was sent before its claim expired: %+v", l)
	}
	l := e.WaitLog(ids[0], "sent after the claim expired", nt.Sent)
	if l.SentBy != "restarted" || l.Attempts != 1 || l.Claims != 2 {
		t.Fatalf("taken-over log: %+v", l)
	}
	e.Mail.WaitCount(t, 5, 10*time.Second)
	if n, _ := e.Mail.Count(context.Background()); n != 5 {
		t.Fatalf("%d emails, want 5", n)
	}
}

// gate is an email provider that holds every message until it is opened.
type gate struct {
	next notify.Sender
	open chan struct{}
	in   chan string
}

func (g *gate) Name() string { return "gate" }

func (g *gate) Send(ctx context.Context, m notify.Message) (string, error) {
	g.in <- m.LogID
	select {
	case <-g.open:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return g.next.Send(ctx, m)
}

// An instance hands new logs to its own worker and reserves them for a
// lease; when it stops before delivering them, it hands them back at once
// rather than leaving them to wait for the lease.
func TestStoppingInstanceHandsBackWhatItReserved(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	g := &gate{next: e.Senders["EMAIL"], open: make(chan struct{}), in: make(chan string, 10)}
	// A lease far longer than the test: only the hand-back lets another
	// instance deliver the reserved logs in time.
	a := notify.NewWorker(e.Store, notify.Senders{"EMAIL": g}, nt.WorkerOptions(notify.WorkerOptions{Instance: "a", Lease: time.Hour}))
	svc := notify.New(e.Store, nil, a, notify.Options{})
	cancelA, stoppedA := nt.StartWorker(t, a)
	send := func(i int) string {
		in := nt.Registered(e.Patient, "lan")
		in.RecipientContact = &notify.ContactOverride{Email: fmt.Sprintf("r%d@patients.test", i)}
		res, err := svc.Send(nt.As(nt.Service("user")), in, "reserved:"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		return res.Answer.LogID
	}
	// The first log is in flight; the next two wait in A's hands.
	first := send(0)
	if got := <-g.in; got != first {
		t.Fatalf("in flight: %s, want %s", got, first)
	}
	rest := []string{send(1), send(2)}
	for _, id := range rest {
		if l, _ := e.Store.GetLog(context.Background(), id); !l.NextAttemptAt.After(time.Now().Add(30 * time.Minute)) {
			t.Fatalf("log %s not reserved for the lease: next attempt %s", id, l.NextAttemptAt)
		}
	}
	// A is told to stop while its send is in flight; the send then ends.
	cancelA()
	close(g.open)
	<-stoppedA
	b := e.NewWorker(e.NewStore("b"), notify.WorkerOptions{Instance: "b"})
	nt.RunWorker(t, b)
	if l := e.WaitLog(first, "sent", nt.Sent); l.SentBy != "a" {
		t.Fatalf("in-flight log: %+v", l)
	}
	for _, id := range rest {
		if l := e.WaitLog(id, "sent by the next instance", nt.Sent); l.SentBy != "b" {
			t.Fatalf("handed-back log: %+v", l)
		}
	}
	e.Mail.WaitCount(t, 3, 10*time.Second)
}

// Delivery keeps SMTP connections open and sends many messages on each;
// the throughput figure is in docs/BENCHMARKS.md. Here: a burst arrives
// whole and once.
func TestBurstIsDeliveredOnce(t *testing.T) {
	e := nt.New(t, nt.Config{Worker: notify.WorkerOptions{Concurrency: 4, Batch: 25}})
	const n = 150
	for i := range n {
		in := nt.Input(notificationapi.AppointmentReminderPatient, e.Patient,
			map[string]any{"patient_name": "Lan", "doctor_name": "Dr. Binh", "appointment_time": "slot " + strconv.Itoa(i)})
		in.Channel = "EMAIL"
		e.MustSend(in, "burst:"+strconv.Itoa(i))
	}
	e.WaitAllSent()
	e.Mail.WaitCount(t, n, 20*time.Second)
	msgs, err := e.Mail.Messages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Subject]++
	}
	for i := range n {
		if s := "Nhắc lịch hẹn: slot " + strconv.Itoa(i); seen[s] != 1 {
			t.Fatalf("%q arrived %d times", s, seen[s])
		}
	}
}

// Logs reserved for an instance that died without handing them back are
// left alone while the reservation lasts, then delivered by another.
func TestReservationsOfADeadInstanceAreTakenOver(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	now := time.Now().UTC().Truncate(time.Millisecond)
	reserved := func(id string, until time.Time, to string) notify.Log {
		return notify.Log{ID: id, RecipientID: e.Patient, RecipientContact: to, NotificationType: notificationapi.UserRegistered,
			Channel: "EMAIL", Language: "vi", Status: notify.StatusPending, NextAttemptAt: until, Holder: "dead-instance",
			HasContent: true, Content: &notify.Content{Subject: "Tài khoản", Body: "Xin chào"}, CreatedAt: now, UpdatedAt: now}
	}
	expired := reserved("0000000000000000000000aa", now.Add(-time.Second), "expired@patients.test")
	held := reserved("0000000000000000000000bb", now.Add(time.Hour), "held@patients.test")
	if _, _, err := e.Store.InsertLogs(context.Background(), []notify.Log{expired, held}); err != nil {
		t.Fatal(err)
	}
	nt.RunWorker(t, e.NewWorker(e.NewStore("survivor"), notify.WorkerOptions{Instance: "survivor"}))
	if l := e.WaitLog(expired.ID, "sent by the survivor", nt.Sent); l.SentBy != "survivor" || l.Holder != "" {
		t.Fatalf("taken-over log: %+v", l)
	}
	if l := e.Log(held.ID); l.Status != notify.StatusPending || l.Attempts != 0 {
		t.Fatalf("a log still reserved was delivered: %+v", l)
	}
	e.Mail.WaitCount(t, 1, 10*time.Second)
}

func TestUrgentSendIsSynchronous(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	in := nt.Registered(e.Patient, "lan")
	in.Urgent = true
	res, err := e.Send(in, "urgent-1")
	if err != nil || res.Queued || res.Answer.Status != notify.AnswerSent {
		t.Fatalf("urgent answer %+v %v", res, err)
	}
	if got, _ := e.Mail.Search(context.Background(), "to:lan@patients.test"); len(got) != 1 {
		t.Fatalf("%d emails right after the urgent answer, want 1", len(got))
	}
	again, err := e.Send(in, "urgent-1")
	if err != nil || again.Queued || again.Answer.Status != notify.AnswerSent || again.Answer.LogID != res.Answer.LogID || !again.Replayed {
		t.Fatalf("urgent replay: %+v %v", again, err)
	}

	// Refused for good: FAILED at once, with the reason.
	if err := e.Mail.SetChaos(context.Background(), testkit.Chaos{Recipient: testkit.ChaosTrigger{ErrorCode: 550, Probability: 100}}); err != nil {
		t.Fatal(err)
	}
	failed, err := e.Send(in, "urgent-2")
	if err != nil || failed.Queued || failed.Answer.Status != notify.AnswerFailed || !strings.Contains(failed.Answer.ErrorMessage, "550") {
		t.Fatalf("urgent refused: %+v %v", failed, err)
	}
	// Server down: the answer says queued, and the log waits for a retry.
	_ = e.Mail.SetChaos(context.Background(), testkit.Chaos{})
	e.Mail.Stop()
	queued, err := e.Send(in, "urgent-3")
	if err != nil || !queued.Queued || queued.Answer.Status != notify.AnswerQueued || queued.Answer.ErrorMessage == "" {
		t.Fatalf("urgent with SMTP down: %+v %v", queued, err)
	}
	l, _ := e.Store.GetLog(context.Background(), queued.Answer.LogID)
	if l.Status != notify.StatusPending || l.Attempts != 1 {
		t.Fatalf("log after a failed urgent attempt: %+v", l)
	}
}
