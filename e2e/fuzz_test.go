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
// starts it. Any 5xx, any request that outlives its route's timeout, and any
// refusal that is not a problem+json fails the suite, with the request.
// FUZZ_SEED changes the (otherwise fixed) choice of cases.
func TestFuzzEveryEndpoint(t *testing.T) {
	r := startAppointments(t)
	ctx := context.Background()
	tokens, ids := fuzzIdentities(t, r)
	identities := make([]string, 0, len(tokens))
	for id := range tokens {
		identities = append(identities, id)
	}
	sort.Strings(identities)

	ops, err := fuzzOperations(ctx, r.platform)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(1)
	if s, err := strconv.ParseUint(os.Getenv("FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	// Reads first, and within a method by path, so that what a request
	// changes (a logout, a deactivation) happens as late as possible.
	rank := map[string]int{http.MethodGet: 0, http.MethodPost: 1, http.MethodPut: 2, http.MethodPatch: 3, http.MethodDelete: 4}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].method != ops[j].method {
			return rank[ops[i].method] < rank[ops[j].method]
		}
		return ops[i].path < ops[j].path
	})
	var all []fuzzCase
	perService := map[string]int{}
	for _, op := range ops {
		h := fnv.New64a()
		h.Write([]byte(op.String()))
		all = append(all, cases(op, identities, ids, rand.New(rand.NewPCG(seed, h.Sum64())), fuzzLimit)...)
		perService[op.service]++
	}
	timeouts := routeTimeouts(ctx, r.platform)

	var (
		mu       sync.Mutex
		findings []string
		statuses = map[int]int{}
	)
	work := make(chan fuzzCase)
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				status, finding := fuzzOne(r.gw, c, tokens, timeouts(c.path))
				mu.Lock()
				statuses[status]++
				if finding != "" {
					findings = append(findings, finding)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range all {
		work <- c
	}
	close(work)
	wg.Wait()
	t.Logf("fuzz: %d operations (%v), %d requests in %s, seed %d; statuses %v",
		len(ops), perService, len(all), time.Since(start).Round(time.Millisecond), seed, statuses)
	for _, svc := range []string{"user", "notification", fuzzService} {
		if perService[svc] == 0 {
			t.Errorf("no operation of %s was found to fuzz", svc)
		}
	}
	sort.Strings(findings)
	for i, f := range findings {
		if i == 60 {
			t.Errorf("... and %d more", len(findings)-60)
			break
		}
		t.Error(f)
	}
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
		return 0, "" // not expressible as HTTP: nothing a client can send
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
		return 0, fmt.Sprintf("no answer after %s (route timeout %s): %v\n    request: %s", time.Since(start).Round(time.Millisecond), timeout, err, describe())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 500:
		return resp.StatusCode, fmt.Sprintf("%d: %.300s\n    request: %s", resp.StatusCode, raw, describe())
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge &&
		resp.Header.Get("Content-Type") != problem.ContentType:
		return resp.StatusCode, fmt.Sprintf("%d without a problem+json body (%q): %.200s\n    request: %s",
			resp.StatusCode, resp.Header.Get("Content-Type"), raw, describe())
	}
	return resp.StatusCode, ""
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
