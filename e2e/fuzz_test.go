package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	consul "github.com/hashicorp/consul/api"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/problem"
	"hospital/lib/routemeta"
)

// fuzzService is the service whose token the fuzz suite uses.
const fuzzService = "appointment"

// fuzzLimit bounds the requests per operation.
const fuzzLimit = 120

// TestFuzzEveryEndpoint sends malformed and edge-value requests to every
// operation of every running service, through the gateway, as anonymous, as
// each role and with a service token. The operations come from the
// services' OpenAPI documents (or the routes a service advertises, while it
// publishes no document), so a new service is covered as soon as the rig
// (fuzzRig: every service of the platform) starts it, and a service of
// fuzzServices that contributes no operation fails the suite. Any 5xx, any request that outlives its route's timeout, and any
// refusal that is not a problem+json fails the suite, with the request.
// FUZZ_SEED changes the (otherwise fixed) choice of cases, FUZZ_LIMIT the
// bound on the requests per operation (fuzzLimit); FUZZ_TRACE names a file
// for every request's status, identity, operation, case and answer.
func TestFuzzEveryEndpoint(t *testing.T) {
	r := startFuzzRig(t)
	ctx := context.Background()
	tokens, ids := r.identities(t)
	identities := make([]string, 0, len(tokens))
	for id := range tokens {
		identities = append(identities, id)
	}
	sort.Strings(identities)

	ops, err := fuzzOperations(ctx, r.platform)
	if err != nil {
		t.Fatal(err)
	}
	ops = append(ops, gatewayOperations()...)
	seed, limit := uint64(1), fuzzLimit
	if s, err := strconv.ParseUint(os.Getenv("FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	if l, err := strconv.Atoi(os.Getenv("FUZZ_LIMIT")); err == nil && l > 0 {
		limit = l
	}
	// Reads first, and within a method by path, so that what a request
	// changes happens as late as possible; the operations that end the
	// caller's session after all the others.
	rank := map[string]int{http.MethodGet: 0, http.MethodPost: 1, http.MethodPut: 2, http.MethodPatch: 3, http.MethodDelete: 4}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].method != ops[j].method {
			return rank[ops[i].method] < rank[ops[j].method]
		}
		return ops[i].path < ops[j].path
	})
	var all, last []fuzzCase
	perService := map[string]int{}
	for _, op := range ops {
		h := fnv.New64a()
		h.Write([]byte(op.String()))
		cs := cases(op, identities, ids, rand.New(rand.NewPCG(seed, h.Sum64())), limit)
		if sessionEnders[op.String()] {
			last = append(last, cs...)
		} else {
			all = append(all, cs...)
		}
		perService[op.service]++
	}
	for _, svc := range fuzzServices {
		if perService[svc] == 0 {
			t.Errorf("no operation of %s was found to fuzz", svc)
		}
	}

	f := newFuzzer(t, r.gw, tokens, routeTimeouts(ctx, r.platform))
	start := time.Now()
	f.run(all)
	// Every identity still signed in: no request was refused for a session
	// that an operation ended on the way (the suite would no longer reach
	// the code behind the access check).
	for _, id := range identities {
		if id == "anonymous" || id == "service" {
			continue
		}
		if res := r.do(t, http.MethodGet, "/api/v1/users/me/", tokens[id], nil, nil); res.status != http.StatusOK {
			t.Errorf("%s's session ended while fuzzing (%d %s): an operation ends the caller's session; list it in sessionEnders",
				id, res.status, res.raw)
		}
	}
	f.run(last)
	t.Logf("fuzz: %d operations (%v), %d requests in %s, seed %d, at most %d per operation; statuses %v",
		len(ops), perService, len(all)+len(last), time.Since(start).Round(time.Millisecond), seed, limit, f.statuses)
	sort.Strings(f.findings)
	for i, finding := range f.findings {
		if i == 60 {
			t.Errorf("... and %d more", len(f.findings)-60)
			break
		}
		t.Error(r.explain(finding))
	}
}

// sessionEnders are the operations after which the caller's tokens are
// refused: fuzzed after all the others.
var sessionEnders = map[string]bool{"POST /api/v1/users/logout/": true}

// fuzzer sends cases through the gateway, four at a time, and keeps the
// statuses and the findings.
type fuzzer struct {
	gw       string
	tokens   map[string]string
	timeouts func(path string) time.Duration
	trace    io.Writer // FUZZ_TRACE: a file for one line per request

	mu       sync.Mutex
	statuses map[int]int
	findings []string
}

func newFuzzer(t *testing.T, gw string, tokens map[string]string, timeouts func(string) time.Duration) *fuzzer {
	f := &fuzzer{gw: gw, tokens: tokens, timeouts: timeouts, statuses: map[int]int{}}
	if name := os.Getenv("FUZZ_TRACE"); name != "" {
		file, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { file.Close() })
		f.trace = file
	}
	return f
}

func (f *fuzzer) run(cs []fuzzCase) {
	work := make(chan fuzzCase)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for c := range work {
				status, body, finding := fuzzSend(f.gw, c, f.tokens, f.timeouts(c.path))
				f.mu.Lock()
				f.statuses[status]++
				if f.trace != nil {
					fmt.Fprintf(f.trace, "%d\t%s\t%s\t%s\t%.200s\n", status, c.identity, c.op, c.what, bytes.ReplaceAll(body, []byte("\n"), nil))
				}
				if finding != "" {
					f.findings = append(f.findings, finding)
				}
				f.mu.Unlock()
			}
		})
	}
	for _, c := range cs {
		work <- c
	}
	close(work)
	wg.Wait()
}

// fuzzIdentities returns a token per identity (anonymous, every role, a
// service) and ids worth putting in paths (existing users of several roles).
func fuzzIdentities(t *testing.T, r *appointmentRig) (map[string]string, []string) {
	t.Helper()
	tokens := map[string]string{"anonymous": "", auth.RoleAdmin: r.admin}
	docID, docTok := r.doctor(t, "drfz")
	tokens[auth.RoleDoctor] = docTok
	patID, patTok := r.patient(t, "fz-pat")
	tokens[auth.RolePatient] = patTok
	for _, role := range []string{auth.RoleNurse, auth.RolePharmacist, auth.RoleInsuranceProvider, auth.RoleLabTechnician} {
		name := "fz" + strings.ToLower(strings.ReplaceAll(role, "_", ""))
		res := r.do(t, http.MethodPost, "/api/v1/admin/users/", r.admin, map[string]any{
			"username": name, "password": staffPass, "email": name + "@hospital.test", "role_name": role,
			"first_name": "Quang", "last_name": "Vu",
		}, nil)
		expect(t, "create "+role, res, http.StatusCreated)
		tokens[role], _ = r.login(t, name, staffPass)
	}
	resp, err := http.Post(r.user.URL+"/api/v1/users/internal/service-token/", "application/json",
		strings.NewReader(fmt.Sprintf(`{"service":%q,"secret":%q}`, fuzzService, appointmentSecret)))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(raw, &st); err != nil || st.AccessToken == "" {
		t.Fatalf("service token: %d %s", resp.StatusCode, raw)
	}
	tokens["service"] = st.AccessToken
	return tokens, []string{"1", strconv.FormatInt(docID, 10), strconv.FormatInt(patID, 10)}
}

// fuzzOperations lists every operation: from the documents, and from the
// advertised routes of services that publish none.
func fuzzOperations(ctx context.Context, p *platform) ([]operation, error) {
	docs, err := p.contract.documents(ctx)
	if err != nil {
		return nil, err
	}
	var ops []operation
	for name, doc := range docs {
		if name == "gateway" {
			continue // the merged document repeats the services'
		}
		for path, item := range doc.Paths.Map() {
			for method, o := range item.Operations() {
				op := operation{service: name, method: method, path: path}
				op.access, _ = o.Extensions[api.AccessExtension].(string)
				for _, pr := range append(slices.Clone(item.Parameters), o.Parameters...) {
					switch v := pr.Value; {
					case v == nil:
					case v.In == openapi3.ParameterInPath:
						op.pathParams = append(op.pathParams, v)
					case v.In == openapi3.ParameterInQuery:
						op.query = append(op.query, v)
					case v.In == openapi3.ParameterInHeader:
						op.headers = append(op.headers, v)
					}
				}
				if o.RequestBody != nil && o.RequestBody.Value != nil {
					op.hasBody = true
					if mt := o.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
						op.body = mt.Schema.Value
					}
				}
				ops = append(ops, op)
			}
		}
	}
	// Services without a document: their advertised patterns, every method.
	names, _, err := p.consul.Client.Catalog().Services((&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, err
	}
	for name := range names {
		if _, ok := docs[name]; ok || name == "gateway" || name == "consul" {
			continue
		}
		entries, _, err := p.consul.Client.Health().Service(name, "", true, (&consul.QueryOptions{}).WithContext(ctx))
		if err != nil || len(entries) == 0 {
			continue
		}
		routes, _ := routemeta.Decode(entries[0].Service.Meta)
		for _, rt := range routes {
			path := strings.ReplaceAll(strings.TrimSuffix(rt.Pattern, "*"), "{}", "{id}")
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				op := operation{service: name, method: m, path: path, hasBody: m != http.MethodGet && m != http.MethodDelete}
				for range strings.Count(path, "{id}") {
					op.pathParams = append(op.pathParams, &openapi3.Parameter{In: openapi3.ParameterInPath,
						Schema: openapi3.NewInt64Schema().NewRef()})
				}
				for _, q := range []string{"page", "page_size", "date", "date_from", "date_to"} {
					op.query = append(op.query, &openapi3.Parameter{Name: q, In: openapi3.ParameterInQuery})
				}
				ops = append(ops, op)
			}
		}
	}
	return ops, nil
}

// routeTimeouts returns the gateway's deadline for a path, from the routes
// the services advertise.
func routeTimeouts(ctx context.Context, p *platform) func(path string) time.Duration {
	var routes []routemeta.Route
	names, _, _ := p.consul.Client.Catalog().Services((&consul.QueryOptions{}).WithContext(ctx))
	for name := range names {
		entries, _, err := p.consul.Client.Health().Service(name, "", true, (&consul.QueryOptions{}).WithContext(ctx))
		if err == nil && len(entries) > 0 {
			rs, _ := routemeta.Decode(entries[0].Service.Meta)
			routes = append(routes, rs...)
		}
	}
	return func(path string) time.Duration {
		best, d := -1, api.DefaultTimeout
		for _, r := range routes {
			if ok, score := routemeta.Match(r.Pattern, path); ok && score > best {
				best = score
				if r.Timeout > 0 {
					d = r.Timeout
				}
			}
		}
		return d
	}
}

// fuzzOne sends c and describes what is wrong with the answer, if anything.
func fuzzOne(gw string, c fuzzCase, tokens map[string]string, timeout time.Duration) (int, string) {
	status, _, finding := fuzzSend(gw, c, tokens, timeout)
	return status, finding
}

// fuzzSend is fuzzOne that also returns the start of the answer's body.
func fuzzSend(gw string, c fuzzCase, tokens map[string]string, timeout time.Duration) (int, []byte, string) {
	u := gw + c.path
	if q := c.rawQuery; q != "" {
		u += "?" + q
	} else if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	describe := func() string {
		return fmt.Sprintf("%s [%s] as %s: %s %s headers %s body %.300q", c.op, c.what, c.identity, c.op.method, truncate(u, 300), headerSummary(c.header), c.body)
	}
	req, err := http.NewRequest(c.op.method, u, body)
	if err != nil {
		return 0, nil, "" // not expressible as HTTP: nothing a client can send
	}
	req.Header = c.header.Clone()
	if tok := tokens[c.identity]; tok != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	// Past the route's timeout the gateway must have answered (504 at worst).
	client := &http.Client{Timeout: timeout + 3*time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Sprintf("no answer after %s (route timeout %s): %v\n    request: %s", time.Since(start).Round(time.Millisecond), timeout, err, describe())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 500:
		return resp.StatusCode, raw, fmt.Sprintf("%d: %.300s\n    request: %s", resp.StatusCode, raw, describe())
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge &&
		resp.Header.Get("Content-Type") != problem.ContentType:
		return resp.StatusCode, raw, fmt.Sprintf("%d without a problem+json body (%q): %.200s\n    request: %s",
			resp.StatusCode, resp.Header.Get("Content-Type"), raw, describe())
	}
	return resp.StatusCode, raw, ""
}

func headerSummary(h http.Header) string {
	var parts []string
	for k, v := range h {
		parts = append(parts, fmt.Sprintf("%s: %.60q", k, strings.Join(v, ",")))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, "; ") + "}"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}
