package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"hospital/svc/notification/httpapi"
	nt "hospital/svc/notification/internal/notifytest"
	"hospital/svc/notification/notify"
)

// A page number whose offset overflows is "Invalid page." like any page
// past the end, never a 500 (issue: page=922337203685477581).
func TestHugePageNumbersAreNotFound(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	admin := e.Token(nt.Admin)
	for _, path := range []string{httpapi.PathLogs, httpapi.PathTemplates} {
		for _, page := range []string{"922337203685477581", "9223372036854775807", "99999999999999999999"} {
			r := e.Do("GET", path+"?page="+page, admin, nil, nil)
			nt.Expect(t, path+" page "+page, r, http.StatusNotFound)
			if r.Str("detail") != "Invalid page." {
				t.Fatalf("%s page %s: %s", path, page, r.Raw)
			}
		}
	}
}

// Malformed input on every endpoint is a 4xx problem, never a 5xx.
func TestMalformedInputIsNeverA500(t *testing.T) {
	e := nt.New(t, nt.Config{NoWorker: true})
	admin := e.Token(nt.Admin)
	user := e.Token(nt.Service("user"))
	tpl, _, err := e.Svc.ListTemplates(nt.As(nt.Admin), notify.TemplateFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	logID := e.MustSend(nt.Registered(e.Patient, "lan"), "malformed").LogID

	ids := []string{"x", strings.Repeat("a", 65), "%00", "%2e%2e", "0123456789abcdef01234567", "ffffffffffffffffffffffff",
		"%C3%A9", "-1", "%FF%FE", "a%20b", tpl[0].ID, logID}
	var paths []string
	for _, id := range ids {
		paths = append(paths, httpapi.PathTemplates+id+"/", httpapi.PathLogs+id+"/", httpapi.PathLogs+id+"/retry/")
	}
	queries := []string{
		"page=922337203685477581", "page=-1", "page=0", "page=abc", "page=1e9", "page_size=922337203685477581",
		"page_size=-5", "page_size=0", "page=2&page_size=100", "recipient_id=99999999999999999999", "recipient_id=-1",
		"recipient_id=0", "recipient=abc", "date_from=0001-01-01", "date_from=9999-12-31", "date_to=0000-00-00",
		"date_to=2025-02-30", "created_after=2025-01-01T00:00:00Z", "created_before=0001-01-01T00:00:00Z",
		"created_after=9999-12-31T23:59:59Z", "created_before=2025-01-01T00:00:00%2B99:00", "status=%00", "channel=%00",
		"notification_type=%00", "notification_type=%24where", "language=%00", "is_active=maybe", "is_active=%00",
		"notification_type[$ne]=x", "status=PENDING&status=SENT", "date_from=" + strings.Repeat("9", 5000),
	}
	for _, q := range queries {
		paths = append(paths, httpapi.PathLogs+"?"+q, httpapi.PathTemplates+"?"+q)
	}
	check := func(what string, r nt.Result) {
		t.Helper()
		if r.Status >= 500 {
			t.Errorf("%s: %d %s", what, r.Status, r.Raw)
		}
		if r.Status >= 400 && r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d without a problem body: %s", what, r.Status, r.Raw)
		}
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "PUT", "DELETE", "POST"} {
			check(m+" "+p, e.Do(m, p, admin, "{}", nil))
		}
	}

	deep := strings.Repeat(`{"a":`, 30) + "1" + strings.Repeat("}", 30)
	deepList := strings.Repeat("[", 30) + "1" + strings.Repeat("]", 30)
	bodies := []string{
		"", "{", "null", "[]", "1", `"x"`, "{}", `{"notification_type":1}`, `{"recipient_id":1e400}`,
		`{"recipient_id":9223372036854775808}`, `{"recipient_id":-9223372036854775808}`, `{"recipient_id":1.5}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":` + deep + `}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"user_name":` + deepList + `}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"user_name":"\u0000","confirmation_link":"y"}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"":1}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"a\u0000":1}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"user_name":1e308,"confirmation_link":-1e308}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":{"user_name":"` + strings.Repeat("x", 300000) + `","confirmation_link":"y"}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"data":null}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"channel_preferences":[1,2]}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"channel_preferences":null,"channel":null}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"recipient_contact":{"email":"\u0000@x"}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"recipient_contact":{"push_token":"\u0000"},"channel":"PUSH"}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"recipient_contact":{"email":"a@b.c","language":"\u0000"}}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"language":"en-ZZZZZZZZZ"}`,
		`{"notification_type":"` + strings.Repeat("A", 5000) + `","recipient_id":2}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"urgent":"yes"}`,
		`{"notification_type":"USER_REGISTERED","recipient_id":2,"sensitive":1}`,
		"{\"notification_type\":\"USER_REGISTERED\",\"recipient_id\":2,\"data\":{\"user_name\":\"\xff\xfe\",\"confirmation_link\":\"y\"}}",
		`{"channel":"SMS","language":"vi","notification_type":"X_Y","body_template_text":"\u0000"}`,
		`{"channel":"EMAIL","language":"vi","notification_type":"X_Y","subject_template":"` + strings.Repeat("s", 3000) + `","body_template_text":"t"}`,
		`{"channel":"SMS","language":"\u0000","notification_type":"X_Y","body_template_text":"t"}`,
		`{"channel":"SMS","language":"vi","notification_type":"X_Y","body_template_text":"{{` + strings.Repeat("a.", 2000) + `a}}"}`,
		`{"channel":"SMS","language":"vi","notification_type":"X_Y","body_template_text":"` + strings.Repeat("{{a}}", 20000) + `"}`,
		`{"channel":"SMS","language":"vi","notification_type":"X_Y","body_template_text":"t","is_active":"no"}`,
	}
	posts := []string{httpapi.PathSend, httpapi.PathTemplates, httpapi.PathTemplates + tpl[0].ID + "/"}
	for _, b := range bodies {
		for _, p := range posts {
			method := "POST"
			if strings.Contains(p, tpl[0].ID) {
				method = "PUT"
			}
			for _, tok := range []string{admin, user} {
				what := method + " " + p + " " + clip(b)
				check(what, e.Do(method, p, tok, b, nil))
			}
		}
	}

	good := nt.Registered(e.Patient, "lan")
	for _, key := range []string{"\xff\xfe", strings.Repeat("k", 500), "a\tb", "é", " "} {
		check("Idempotency-Key "+clip(key), e.Do("POST", httpapi.PathSend, user, good, map[string]string{"Idempotency-Key": key}))
	}
	for _, ct := range []string{"text/plain", "application/json; charset=latin1", "garbage/;;", "multipart/form-data; boundary=x"} {
		req, _ := http.NewRequest("POST", e.URL+httpapi.PathSend, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("Content-Type %q: %d %s", ct, resp.StatusCode, raw)
		}
	}
	// A body over the limit.
	big := bytes.Repeat([]byte(" "), 2<<20)
	r := e.Do("POST", httpapi.PathSend, user, string(big)+"{}", nil)
	nt.Expect(t, "oversized body", r, http.StatusRequestEntityTooLarge)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
