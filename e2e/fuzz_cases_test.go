package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"hospital/lib/api"
	"hospital/lib/auth"
)

// operation is one endpoint to fuzz, from a service's OpenAPI document (or,
// for a service that publishes none, from the routes it advertises).
type operation struct {
	service, method, path string // path is a template: /api/v1/x/{id}/
	pathParams            []*openapi3.Parameter
	query                 []*openapi3.Parameter
	headers               []*openapi3.Parameter
	body                  *openapi3.Schema // nil: none
	hasBody               bool
	access                string // the document's x-access ("anyone", "ADMIN, DOCTOR; service x")
}

func (o operation) String() string { return o.method + " " + o.path }

// fuzzCase is one request.
type fuzzCase struct {
	op       operation
	what     string // which mutation
	identity string // key into the identities
	path     string // concrete, escaped
	query    url.Values
	rawQuery string // overrides query when set
	header   http.Header
	body     []byte
}

var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// Edge values, from the defects found by hand and the usual suspects.
var (
	badIDs = []string{"0", "-1", "9223372036854775807", "9223372036854775808", "99999999999999999999",
		"abc", "%C3%B1%E6%BC%A2", "..", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", strings.Repeat("9", 300), "1e3", "%201"}
	badQuery = []string{"", "-1", "0", "922337203685477581", "9223372036854775808", "abc", "0001-01-01",
		"9999-12-31", "2026-02-30", "true", "ñ漢字", "1' OR '1'='1", strings.Repeat("x", 10000), "%ff%fe", "a%00b"}
	badStrings = []any{"", strings.Repeat("ä", 50000), "0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2026-01-01T10:00:00", "\u0000\u202e<script>", 123, true, []any{"x"}, map[string]any{}}
	badNumbers = []any{-1, 0, 9223372036854775807, 1e30, 1.5, "1", "abc", true, []any{1}}
)

// cases returns the bounded, deterministic set of requests for op:
// a plausible request as every identity, then one mutation at a time of
// path ids, query parameters, body and headers, each as an identity the
// operation admits. The path's ids come from ids (see pathID).
func cases(op operation, identities []string, ids []string, rng *rand.Rand, limit int) []fuzzCase {
	admitted := admits(op.access, identities)
	next := 0
	who := func() string { next++; return admitted[next%len(admitted)] }

	base := func(what string) fuzzCase {
		c := fuzzCase{op: op, what: what, identity: who(), query: url.Values{}, header: http.Header{}}
		i := 0
		c.path = placeholder.ReplaceAllStringFunc(op.path, func(string) string {
			v := "1"
			if i < len(op.pathParams) {
				v = validParam(op.pathParams[i], ids, rng)
			}
			i++
			return v
		})
		for _, q := range op.query {
			if q.Required || rng.IntN(2) == 0 {
				c.query.Set(q.Name, validParam(q, ids, rng))
			}
		}
		for _, h := range op.headers {
			if h.Required || rng.IntN(2) == 0 {
				c.header.Set(h.Name, validParam(h, ids, rng))
			}
		}
		if op.hasBody {
			c.body, _ = json.Marshal(valid(op.body, "", ids, 0))
			c.header.Set("Content-Type", "application/json")
		}
		return c
	}

	var out []fuzzCase
	for _, id := range identities {
		c := base("plausible request")
		c.identity = id
		out = append(out, c)
	}
	var muts []fuzzCase
	segments := placeholder.FindAllStringIndex(op.path, -1)
	for i := range segments {
		for _, bad := range badIDs {
			c := base(fmt.Sprintf("path parameter %d = %q", i+1, bad))
			j := 0
			c.path = placeholder.ReplaceAllStringFunc(op.path, func(string) string {
				v := "1"
				if j == i {
					v = bad
				}
				j++
				return v
			})
			muts = append(muts, c)
		}
	}
	for _, q := range op.query {
		for _, bad := range badQuery {
			c := base(fmt.Sprintf("query %s = %.40q", q.Name, bad))
			c.query.Set(q.Name, bad)
			if strings.Contains(bad, "%") {
				// Sent as is (the bytes it escapes), the one value of q.
				c.query.Del(q.Name)
				c.rawQuery = strings.TrimPrefix(c.query.Encode()+"&"+q.Name+"="+bad, "&")
			}
			muts = append(muts, c)
		}
	}
	muts = append(muts, headerCases(base)...)
	if op.hasBody || op.method == http.MethodPost || op.method == http.MethodPut || op.method == http.MethodPatch {
		muts = append(muts, bodyCases(op, valid(op.body, "", ids, 0), base)...)
	}
	// Seeded choice when an operation has more mutations than the bound.
	if room := limit - len(out); len(muts) > room {
		rng.Shuffle(len(muts), func(i, j int) { muts[i], muts[j] = muts[j], muts[i] })
		muts = muts[:room]
	}
	return append(out, muts...)
}

func headerCases(base func(string) fuzzCase) []fuzzCase {
	set := func(what, k, v string) fuzzCase {
		c := base(what)
		c.header.Set(k, v)
		return c
	}
	return []fuzzCase{
		set("non-UTF-8 Idempotency-Key", "Idempotency-Key", "\xff\xfe\xfd\x80"),
		set("huge Idempotency-Key", "Idempotency-Key", strings.Repeat("k", 8000)),
		set("huge header", "X-Fuzz", strings.Repeat("h", 32000)),
		set("forged X-Forwarded-For", "X-Forwarded-For", "203.0.113.7, 127.0.0.1, ::1, not-an-ip"),
		set("forged X-Client-IP", "X-Client-IP", "127.0.0.1"),
		set("forged X-Real-IP", "X-Real-IP", "10.0.0.1"),
		set("Content-Type text/plain", "Content-Type", "text/plain"),
		set("Content-Type utf-16 JSON", "Content-Type", "application/json; charset=utf-16"),
		set("Content-Type multipart", "Content-Type", "multipart/form-data; boundary=zzz"),
		set("garbage bearer token", "Authorization", "Bearer eyJhbGciOiJub25lIn0.e30."),
		set("basic auth", "Authorization", "Basic YWRtaW46YWRtaW4="),
		set("Accept garbage", "Accept", "*/*;q=abc, \u00e9"),
	}
}

func bodyCases(op operation, body any, base func(string) fuzzCase) []fuzzCase {
	raw := func(what string, b []byte) fuzzCase {
		c := base(what)
		c.body = b
		c.header.Set("Content-Type", "application/json")
		return c
	}
	out := []fuzzCase{
		raw("body not JSON", []byte(`{"a": `)),
		raw("empty body", nil),
		raw("body null", []byte(`null`)),
		raw("body array", []byte(`[]`)),
		raw("body string", []byte(`"x"`)),
		raw("body over the size limit", []byte(`{"x":"`+strings.Repeat("a", 2<<20)+`"}`)),
		raw("deeply nested body", []byte(strings.Repeat("[", 20000)+strings.Repeat("]", 20000))),
		raw("deeply nested object", []byte(strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000))),
		raw("two JSON values", []byte(`{} {}`)),
	}
	if op.body == nil || !op.body.Type.Is("object") {
		return append(out, raw("unknown field", []byte(`{"zzz_unknown":1}`)))
	}
	plausible, _ := body.(map[string]any)
	mutate := func(what string, f func(m map[string]any)) {
		m := map[string]any{}
		for k, v := range plausible {
			m[k] = v
		}
		f(m)
		b, _ := json.Marshal(m)
		out = append(out, raw(what, b))
	}
	mutate("unknown field", func(m map[string]any) { m["zzz_unknown"] = "x" })
	names := make([]string, 0, len(op.body.Properties))
	for name := range op.body.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		mutate(name+" = null", func(m map[string]any) { m[name] = nil })
		mutate(name+" missing", func(m map[string]any) { delete(m, name) })
		prop := op.body.Properties[name].Value
		bad := badStrings
		if prop != nil && (prop.Type.Is("integer") || prop.Type.Is("number")) {
			bad = badNumbers
		}
		for _, v := range bad {
			mutate(name+" = "+short(v), func(m map[string]any) { m[name] = v })
		}
	}
	return out
}

// short is v as JSON, cut to a readable length.
func short(v any) string {
	b, _ := json.Marshal(v)
	return truncate(string(b), 40)
}

// admits returns the identities the access string lets through (all of
// them when it cannot tell), so mutations reach the code behind the access
// check.
func admits(access string, identities []string) []string {
	switch access {
	case "", "anyone":
		return identities
	case "any signed-in user":
		return slices.DeleteFunc(slices.Clone(identities), func(id string) bool { return id == "anonymous" || id == "service" })
	}
	var out []string
	for _, id := range identities {
		if id != "anonymous" && id != "service" && strings.Contains(access, id) {
			out = append(out, id)
		}
	}
	if strings.Contains(access, "service "+fuzzService) {
		out = append(out, "service")
	}
	if len(out) == 0 {
		return identities
	}
	return out
}

// The cases come from the document: the plausible request of an operation
// passes its own document (so mutations reach the code behind decoding),
// and the edge values the suite promises are among the cases.
func TestFuzzCasesFromDocument(t *testing.T) {
	type booking struct {
		DoctorID int64    `json:"doctor_id" validate:"required,gt=0"`
		At       string   `json:"appointment_time" validate:"required,max=40"`
		Kind     string   `json:"kind" validate:"omitempty,oneof=NEW FOLLOW_UP"`
		Tags     []string `json:"tags" validate:"max=3"`
	}
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	routes := []api.Route{{Method: http.MethodPost, Path: "/api/v1/things/{thing_id:[0-9]+}/bookings/", Summary: "Book.",
		Access: api.Roles(auth.RolePatient).OrServices(fuzzService), Handler: h, Request: booking{}, Status: http.StatusCreated,
		Query: append(slices.Clone(api.PageParams), api.Param{Name: "date", Type: "date"}), Headers: []api.Param{api.IdempotencyKey(false)}}}
	doc, err := api.Document(api.Info{Title: "things"}, routes)
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	o := doc.Paths.Find("/api/v1/things/{thing_id}/bookings/").Post
	op := operation{service: "things", method: http.MethodPost, path: "/api/v1/things/{thing_id}/bookings/",
		access: o.Extensions[api.AccessExtension].(string), hasBody: true,
		body: o.RequestBody.Value.Content.Get("application/json").Schema.Value}
	for _, p := range o.Parameters {
		if p.Value.In == openapi3.ParameterInPath {
			op.pathParams = append(op.pathParams, p.Value)
		} else if p.Value.In == openapi3.ParameterInQuery {
			op.query = append(op.query, p.Value)
		}
	}
	ids := []string{"anonymous", auth.RoleAdmin, auth.RolePatient, "service"}
	cs := cases(op, ids, []string{"7"}, rand.New(rand.NewPCG(1, 2)), 1000)
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.what] = true
		if c.what != "plausible request" {
			if c.identity != auth.RolePatient && c.identity != "service" {
				t.Errorf("mutation %q sent as %s, whom the operation does not admit", c.what, c.identity)
			}
			continue
		}
		req, _ := http.NewRequest(c.op.method, "http://x"+c.path+"?"+c.query.Encode(), bytes.NewReader(c.body))
		req.Header = c.header.Clone()
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("plausible path %s: %v", c.path, err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
		if err != nil {
			t.Errorf("the plausible request does not match its own document: %v\n%s", err, c.body)
		}
	}
	for _, want := range []string{
		`query page = "922337203685477581"`, `query date = "0001-01-01"`, `query date = "9999-12-31"`,
		`path parameter 1 = "-1"`, `path parameter 1 = "%2e%2e%2f%2e%2e%2fetc%2fpasswd"`, "non-UTF-8 Idempotency-Key",
		"forged X-Forwarded-For", "body not JSON", "deeply nested body", "doctor_id = null", "doctor_id missing",
		"unknown field", `appointment_time = "0001-01-01T00:00:00Z"`, "doctor_id = 9223372036854775807",
	} {
		if !seen[want] {
			t.Errorf("no case %s", want)
		}
	}
	if again := cases(op, ids, []string{"7"}, rand.New(rand.NewPCG(1, 2)), 1000); len(again) != len(cs) || again[len(cs)-1].what != cs[len(cs)-1].what {
		t.Error("the cases are not deterministic")
	}
}
