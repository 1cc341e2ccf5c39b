package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	consul "github.com/hashicorp/consul/api"

	"hospital/lib/api"
	"hospital/lib/config"
	"hospital/lib/httpx"
	"hospital/lib/problem"
	"hospital/lib/routemeta"
	"hospital/lib/service"
	"hospital/lib/testkit"
)

// contract checks every exchange the tests have with the gateway against
// the OpenAPI documents the services publish (GET /openapi.json, built from
// the same lib/api route table as their routers), so a document cannot
// drift from the code: a request the documents do not describe, or an
// answer that does not match its operation, fails the test.
//
// The documents are fetched from the services' instances found in Consul
// (the gateway's merged document is built from the same ones). A service
// that publishes no document yet (its routes are not declared through
// lib/api) is skipped, and said so once.
type contract struct {
	consul *consul.Client

	mu    sync.Mutex
	docs  map[string]*serviceDoc // by service name; nil value: serves no document
	noted map[string]bool
	log   func(format string, args ...any)
}

type serviceDoc struct {
	service string
	doc     *openapi3.T
	router  routers.Router
}

func newContract(c *consul.Client) *contract {
	return &contract{consul: c, docs: map[string]*serviceDoc{}, noted: map[string]bool{}}
}

// exchange is one request and its answer as the test saw them.
type exchange struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
	respHeader   http.Header
	respBody     []byte
}

func (e exchange) String() string {
	return fmt.Sprintf("%s %s (answered %d)", e.method, e.path, e.status)
}

// errUndocumented means no published document covers the request's path
// and the service that serves it publishes none either.
var errUndocumented = errors.New("served by a service without an OpenAPI document")

// check validates the request and the response. With invalidRequest (a
// deliberate bad-input test) the request is not checked, and the answer
// must be a problem.
func (c *contract) check(ctx context.Context, e exchange, invalidRequest bool) error {
	if invalidRequest {
		if err := isProblem(e); err != nil {
			return err
		}
	}
	sd, route, params, err := c.find(ctx, e)
	switch {
	case errors.Is(err, errUndocumented):
		return nil
	case err != nil && invalidRequest:
		return nil // an unknown path or method, on purpose: the answer is a problem
	case err != nil:
		return fmt.Errorf("%s: not described by any service's OpenAPI document: %w", e, err)
	}
	req := e.request()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
			RejectWhenRequestBodyNotSpecified: true,
			MultiError:                        true,
		}}
	if !invalidRequest {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("%s: request does not match %s's document (use doInvalid for deliberate bad input): %w", e, sd.service, err)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: e.status, Header: e.respHeader,
		Body: io.NopCloser(bytes.NewReader(e.respBody)), Options: in.Options,
	})
	if err != nil {
		return fmt.Errorf("%s: answer does not match %s's document: %w\nbody: %.500s", e, sd.service, err, e.respBody)
	}
	return nil
}

func (e exchange) request() *http.Request {
	req, _ := http.NewRequest(e.method, "http://gateway"+e.path, bytes.NewReader(e.body))
	req.Header = e.header.Clone()
	if len(e.body) == 0 {
		req.Body = http.NoBody
	}
	return req
}

// isProblem checks that a refused request got an RFC 9457 problem.
func isProblem(e exchange) error {
	if e.status < 400 {
		return fmt.Errorf("%s: bad input was accepted", e)
	}
	if ct := e.respHeader.Get("Content-Type"); ct != problem.ContentType {
		return fmt.Errorf("%s: content-type %q, want %s", e, ct, problem.ContentType)
	}
	if !bytes.Contains(e.respBody, []byte(`"detail"`)) {
		return fmt.Errorf("%s: problem without detail: %.300s", e, e.respBody)
	}
	return nil
}

// find returns the operation that describes e, fetching the documents of
// services new to the contract when no known document matches.
func (c *contract) find(ctx context.Context, e exchange) (*serviceDoc, *routers.Route, map[string]string, error) {
	req := e.request()
	if sd, route, params, err := c.match(req); err == nil {
		return sd, route, params, nil
	}
	if err := c.refresh(ctx); err != nil {
		return nil, nil, nil, err
	}
	sd, route, params, err := c.match(req)
	if err == nil {
		return sd, route, params, nil
	}
	if owner := c.undocumentedOwner(ctx, req.URL.Path); owner != "" {
		c.note(owner, "service %s publishes no OpenAPI document: its exchanges are not validated", owner)
		return nil, nil, nil, errUndocumented
	}
	return nil, nil, nil, err
}

func (c *contract) match(req *http.Request) (*serviceDoc, *routers.Route, map[string]string, error) {
	c.mu.Lock()
	docs := make([]*serviceDoc, 0, len(c.docs))
	for _, d := range c.docs {
		if d != nil {
			docs = append(docs, d)
		}
	}
	c.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool { return docs[i].service < docs[j].service })
	var last error = routers.ErrPathNotFound
	for _, d := range docs {
		route, params, err := d.router.FindRoute(req)
		if err == nil {
			return d, route, params, nil
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			last = fmt.Errorf("%s %s: method not in %s's document", req.Method, req.URL.Path, d.service)
		}
	}
	return nil, nil, nil, last
}

// refresh fetches the document of every service in Consul not fetched yet.
func (c *contract) refresh(ctx context.Context) error {
	names, _, err := c.consul.Catalog().Services((&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	for name := range names {
		c.mu.Lock()
		_, known := c.docs[name]
		c.mu.Unlock()
		if known {
			continue
		}
		sd, settled, err := c.fetch(ctx, name)
		if err != nil {
			return err
		}
		if !settled {
			continue // no passing instance yet: ask again next time
		}
		c.mu.Lock()
		c.docs[name] = sd // nil when it serves none
		c.mu.Unlock()
	}
	return nil
}

// fetch reads service's document from one of its passing instances (nil
// when it serves none). settled is false when no instance answered: the
// service is asked again at the next refresh.
func (c *contract) fetch(ctx context.Context, name string) (sd *serviceDoc, settled bool, err error) {
	entries, _, err := c.consul.Health().Service(name, "", true, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, false, fmt.Errorf("instances of %s: %w", name, err)
	}
	for _, e := range entries {
		if !slices.Contains(e.Service.Tags, "hospital") {
			return nil, true, nil // a store or tool, not a platform service
		}
		url := fmt.Sprintf("http://%s:%d%s", e.Service.Address, e.Service.Port, service.OpenAPIPath)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			continue // restarting: try another instance
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			return nil, true, nil
		}
		doc, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			return nil, false, fmt.Errorf("%s's OpenAPI document does not load: %w", name, err)
		}
		if err := doc.Validate(ctx); err != nil {
			return nil, false, fmt.Errorf("%s's OpenAPI document is invalid: %w", name, err)
		}
		doc.Servers = nil // matched on path alone, whatever host the test used
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, false, fmt.Errorf("route %s's document: %w", name, err)
		}
		return &serviceDoc{service: name, doc: doc, router: router}, true, nil
	}
	return nil, false, nil // no instance answered: try again later
}

// undocumentedOwner names the service without a document that advertises
// a gateway route for path, if any.
func (c *contract) undocumentedOwner(ctx context.Context, path string) string {
	c.mu.Lock()
	var names []string
	for name, d := range c.docs {
		if d == nil {
			names = append(names, name)
		}
	}
	c.mu.Unlock()
	for _, name := range names {
		entries, _, err := c.consul.Health().Service(name, "", false, (&consul.QueryOptions{}).WithContext(ctx))
		if err != nil {
			continue
		}
		for _, e := range entries {
			routes, _ := routemeta.Decode(e.Service.Meta)
			for _, r := range routes {
				if ok, _ := routemeta.Match(r.Pattern, path); ok {
					return name
				}
			}
		}
	}
	return ""
}

// documents returns the documents fetched so far, by service.
func (c *contract) documents(ctx context.Context) (map[string]*openapi3.T, error) {
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*openapi3.T{}
	for name, d := range c.docs {
		if d != nil {
			out[name] = d.doc
		}
	}
	return out, nil
}

func (c *contract) note(key, format string, args ...any) {
	c.mu.Lock()
	seen := c.noted[key]
	c.noted[key] = true
	log := c.log
	c.mu.Unlock()
	if !seen && log != nil {
		log(format, args...)
	}
}

// The contract itself: against a service built on lib/api and registered in
// a real Consul, a described exchange passes; a request with a field the
// document does not have, an answer that drifted from its declared type, and
// a path no document describes are each reported; doInvalid accepts an
// undescribed path only when the answer is a problem.
func TestOpenAPIContractCatchesDrift(t *testing.T) {
	c := testkit.StartConsul(t)
	base := config.Base{
		HTTPAddr: "127.0.0.1:0", OpsAddr: "127.0.0.1:0", ConsulAddr: c.Addr, LogLevel: "error",
		ConsulCheckInterval: time.Second, ConsulCheckTimeout: time.Second, ConsulDeregisterAfter: time.Minute,
		DrainDelay: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20,
	}
	s, err := service.New("notes", base)
	if err != nil {
		t.Fatal(err)
	}
	type noteIn struct {
		Text string `json:"text" validate:"required,max=20"`
	}
	type noteOut struct {
		ID   int64  `json:"id"`
		Text string `json:"text"`
	}
	routes := []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/notes/", Summary: "Write a note.", Access: api.Public(),
			Request: noteIn{}, Response: noteOut{}, Status: http.StatusCreated,
			Handler: func(w http.ResponseWriter, r *http.Request) error {
				var in noteIn
				if err := httpx.Decode(r, &in); err != nil {
					return err
				}
				httpx.WriteJSON(w, http.StatusCreated, noteOut{ID: 1, Text: in.Text})
				return nil
			}},
		// Declares noteOut but answers without its id: the drift to catch.
		{Method: http.MethodGet, Path: "/api/v1/notes/{note_id:[0-9]+}/", Summary: "Read a note.", Access: api.Public(),
			Response: noteOut{},
			Handler: func(w http.ResponseWriter, r *http.Request) error {
				httpx.WriteJSON(w, http.StatusOK, map[string]string{"text": "no id"})
				return nil
			}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, service.Spec{API: routes}) }()
	t.Cleanup(func() { cancel(); <-done })
	c.WaitPassing(t, "notes", 1, 15*time.Second)

	k := newContract(c.Client)
	call := func(method, path, body string) exchange {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.Addr+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return exchange{method: method, path: path, header: req.Header, body: []byte(body),
			status: resp.StatusCode, respHeader: resp.Header, respBody: raw}
	}

	if err := k.check(ctx, call(http.MethodPost, "/api/v1/notes/", `{"text":"hello"}`), false); err != nil {
		t.Fatalf("a described exchange was refused: %v", err)
	}
	unknown := call(http.MethodPost, "/api/v1/notes/", `{"text":"hello","colour":"red"}`)
	if err := k.check(ctx, unknown, false); err == nil || !strings.Contains(err.Error(), "request does not match") {
		t.Fatalf("a request with an undocumented field passed: %v", err)
	}
	if err := k.check(ctx, unknown, true); err != nil {
		t.Fatalf("deliberate bad input answered with a problem was refused: %v", err)
	}
	if err := k.check(ctx, call(http.MethodGet, "/api/v1/notes/7/", ""), false); err == nil || !strings.Contains(err.Error(), "answer does not match") {
		t.Fatalf("an answer without its declared id passed: %v", err)
	}
	nowhere := call(http.MethodGet, "/api/v1/notes/7/history/", "")
	if err := k.check(ctx, nowhere, false); err == nil || !strings.Contains(err.Error(), "not described") {
		t.Fatalf("an undescribed path passed: %v", err)
	}
	if err := k.check(ctx, nowhere, true); err != nil {
		t.Fatalf("an undescribed path answered with a problem, sent on purpose, was refused: %v", err)
	}
	wrongMethod := call(http.MethodDelete, "/api/v1/notes/", "")
	if err := k.check(ctx, wrongMethod, false); err == nil {
		t.Fatal("an undescribed method passed")
	}
	accepted := call(http.MethodPost, "/api/v1/notes/", `{"text":"fine"}`)
	if err := k.check(ctx, accepted, true); err == nil {
		t.Fatal("doInvalid accepted a request the service accepted")
	}
}
