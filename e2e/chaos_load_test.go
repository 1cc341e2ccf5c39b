package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// sample is one request of the chaos load and what came of it.
type sample struct {
	target     string // booking, or the service a probe reads from
	path       string
	at         time.Time
	took       time.Duration
	status     int // 0: no answer
	retryAfter bool
	err        string
	body       string
}

func (s sample) ok() bool { return s.status >= 200 && s.status < 300 }

func (s sample) String() string {
	if s.status == 0 {
		return fmt.Sprintf("%s %s at %s: no answer after %s: %s", s.target, s.path, s.at.Format("15:04:05.000"), s.took.Round(time.Millisecond), s.err)
	}
	return fmt.Sprintf("%s %s at %s: %d after %s (Retry-After %v): %.200s", s.target, s.path, s.at.Format("15:04:05.000"), s.status, s.took.Round(time.Millisecond), s.retryAfter, s.body)
}

// booking is an acknowledged booking (201).
type booking struct {
	id, patient, doctor int64
	at                  string
}

// load drives bookings and one probe per service through the gateway until
// stopped, recording every answer.
type load struct {
	gw     string
	client *http.Client
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	samples  []sample
	bookings []booking
}

func newLoad(gw string) *load {
	return &load{gw: gw, stop: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

func (l *load) send(target, method, path, token string, body any) sample {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.gw+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	s := sample{target: target, path: method + " " + path, at: time.Now()}
	resp, err := l.client.Do(req)
	s.took = time.Since(s.at)
	if err != nil {
		s.err = err.Error()
	} else {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		s.status, s.body = resp.StatusCode, string(raw)
		s.retryAfter = resp.Header.Get("Retry-After") != ""
	}
	l.mu.Lock()
	l.samples = append(l.samples, s)
	l.mu.Unlock()
	return s
}

// every starts fn every interval until the load stops, without waiting
// for the previous call (a request held up by an outage does not slow the
// probe down), at most 64 calls at a time.
func (l *load) every(interval time.Duration, fn func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		slots := make(chan struct{}, 64)
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				continue // 64 calls outstanding: skip this tick
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer func() { <-slots }()
				fn()
			}()
		}
	}()
}

// book books the k-th slot: alternating doctors, 30-minute slots from 07:00
// clinic time, two days ahead and on (reminders stay out of the way).
func (l *load) book(k int, doctors []int64, patients []int64, tokens []string) {
	doc := doctors[k%len(doctors)]
	n := k / len(doctors)
	at := clinicSlot(2+n/24, 7+(n%24)/2, 30*(n%2))
	pi := k % len(patients)
	s := l.send("booking", http.MethodPost, "/api/v1/appointments/", tokens[pi], map[string]any{
		"doctor_id": doc, "appointment_time": at, "reason_for_visit": "Khám định kỳ",
	})
	if s.status != http.StatusCreated {
		return
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal([]byte(s.body), &out) == nil && out.ID > 0 {
		l.mu.Lock()
		l.bookings = append(l.bookings, booking{id: out.ID, patient: patients[pi], doctor: doc, at: at})
		l.mu.Unlock()
	}
}

func (l *load) halt() {
	close(l.stop)
	l.wg.Wait()
}

// between returns the samples taken from t0 to t1.
func (l *load) between(t0, t1 time.Time) []sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sample
	for _, s := range l.samples {
		if !s.at.Before(t0) && s.at.Before(t1) {
			out = append(out, s)
		}
	}
	return out
}

// firstSuccess is when target first answered 2xx after t0 (zero if never).
func (l *load) firstSuccess(target string, t0 time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, s := range l.samples {
		if done := s.at.Add(s.took); s.target == target && s.ok() && s.at.After(t0) && (first.IsZero() || done.Before(first)) {
			first = done
		}
	}
	return first
}

// waitSuccess waits until target has answered 2xx after t0.
func (l *load) waitSuccess(ctx context.Context, target string, t0 time.Time) error {
	for {
		if !l.firstSuccess(target, t0).IsZero() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not recover: %w", target, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitSteady waits until every target's last three answers after t0 are
// 2xx: a fault's tail (a breaker closing, a pool reconnecting) belongs to
// that fault, not to the next one.
func (l *load) waitSteady(ctx context.Context, t0 time.Time) error {
	for {
		if l.steady(t0) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the platform did not settle: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *load) steady(t0 time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := map[string][]bool{}
	for _, s := range l.samples {
		if !s.at.Before(t0) {
			last[s.target] = append(last[s.target], s.ok())
		}
	}
	if len(last) == 0 {
		return false
	}
	for _, oks := range last {
		if len(oks) < 3 || slices.Contains(oks[len(oks)-3:], false) {
			return false
		}
	}
	return true
}

// observed reports whether target's probe has, since t0, seen 3 failed
// answers (or, with answered > 0, that many answers of any kind).
func (l *load) observed(target string, t0 time.Time, answered int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.samples {
		if s.target != target || s.at.Before(t0) {
			continue
		}
		if answered > 0 || !s.ok() {
			n++
		}
	}
	if answered > 0 {
		return n >= answered
	}
	return n >= 3
}
