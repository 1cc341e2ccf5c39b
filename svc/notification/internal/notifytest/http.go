package notifytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"hospital/lib/notificationapi"
	"hospital/svc/notification/notify"
)

// Result is an HTTP answer.
type Result struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// Str is a string member of the body.
func (r Result) Str(k string) string { s, _ := r.Body[k].(string); return s }

// Do sends a request to the Env's server; body is a string (sent as is) or
// a value (sent as JSON).
func (e *Env) Do(method, path, token string, body any, header map[string]string) Result {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := Result{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// Expect fails t unless r has status; an error must be a problem with a detail.
func Expect(t testing.TB, what string, r Result, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Raw)
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: content-type %q, want application/problem+json", what, ct)
		}
		if r.Str("detail") == "" {
			t.Fatalf("%s: problem without detail: %s", what, r.Raw)
		}
	}
}

// Registered is the user service's USER_REGISTERED request for recipient.
func Registered(recipient int64, name string) notify.SendInput {
	in := notify.SendInput{Data: map[string]any{"user_name": name, "confirmation_link": "https://hospital.test/login"}}
	in.NotificationType, in.RecipientID, in.Channel = notificationapi.UserRegistered, recipient, notificationapi.ChannelEmail
	return in
}

// Input is a send request of typ to recipient with data.
func Input(typ string, recipient int64, data map[string]any) notify.SendInput {
	in := notify.SendInput{Data: data}
	in.NotificationType, in.RecipientID = typ, recipient
	return in
}

// Send sends in as the service that owns its type would.
func (e *Env) Send(in notify.SendInput, key string) (notify.SendResult, error) {
	e.T.Helper()
	return e.Svc.Send(As(Service(OwnerOf(in.NotificationType))), in, key)
}

// MustSend is Send that fails the test on an error, returning the answer.
func (e *Env) MustSend(in notify.SendInput, key string) notify.SendAnswer {
	e.T.Helper()
	res, err := e.Send(in, key)
	if err != nil {
		e.T.Fatalf("send %s: %v", in.NotificationType, err)
	}
	return res.Answer
}

// OwnerOf is the service that may send typ ("" for none).
func OwnerOf(typ string) string {
	for svc, types := range notificationapi.Senders {
		for _, t := range types {
			if t == typ {
				return svc
			}
		}
	}
	return ""
}
