package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"hospital/lib/api"
	"hospital/lib/auth"
	"hospital/lib/service"
	"hospital/lib/testkit"
)

type docItem struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type docCreate struct {
	Name string `json:"name" validate:"required,max=50"`
}

// docService is a service's route table as lib/api declares it: public
// routes, one for signed-in users, and an internal one the gateway must
// leave out of the merged document.
func docService(name string, extra bool) []api.Route {
	base := "/api/v1/" + name + "/"
	routes := []api.Route{
		{Method: http.MethodGet, Path: base + "items/", Summary: "List items", Access: api.AnyUser(), Response: []docItem{}, Query: api.PageParams},
		{Method: http.MethodPost, Path: base + "items/", Summary: "Create an item", Access: api.Roles(auth.RoleAdmin), Request: docCreate{}, Response: docItem{}, Status: http.StatusCreated},
		{Method: http.MethodGet, Path: base + "items/{item_id:[0-9]+}/", Summary: "One item", Access: api.Public(), Response: docItem{}},
		{Method: http.MethodPost, Path: base + "internal/sync/", Summary: "Internal", Access: api.Services("user"), Request: docCreate{}},
	}
	if extra {
		routes = append(routes, api.Route{Method: http.MethodDelete, Path: base + "items/{item_id:[0-9]+}/extra/", Summary: "Extra", Access: api.AnyUser(), Status: http.StatusNoContent})
	}
	return routes
}

// startDocService registers an upstream that serves its OpenAPI document
// on its own listener, as lib/service does, and advertises its routes.
func startDocService(t *testing.T, c *testkit.Consul, name string, extra bool) *upstream {
	t.Helper()
	routes := docService(name, extra)
	doc, err := api.Document(api.Info{Title: name}, routes)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return startUpstream(t, c, name, api.GatewayRoutes(routes), func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == service.OpenAPIPath {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(raw)
			return
		}
		echo(name)(w, r)
	})
}

func loadMerged(t *testing.T, base string) *openapi3.T {
	t.Helper()
	resp, body := call(t, http.MethodGet, base+"/api/docs/openapi.json", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("merged document: %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("merged document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("merged document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

func paths(doc *openapi3.T) []string {
	out := doc.Paths.InMatchingOrder()
	slices.Sort(out)
	return out
}

// TestDocs: the gateway serves the merged, valid OpenAPI document of the
// services it routes to (public operations only, tagged by service), it
// follows the routing table, and the reference page is served from the
// binary.
func TestDocs(t *testing.T) {
	c := testkit.StartConsul(t)
	gw := startGateway(t, testConfig(c))

	startDocService(t, c, "docs-a", false)
	waitServedBy(t, gw.URL+"/api/v1/docs-a/items/1/", "docs-a")
	doc := loadMerged(t, gw.URL)
	want := []string{"/api/v1/docs-a/items/", "/api/v1/docs-a/items/{item_id}/"}
	if got := paths(doc); !slices.Equal(got, want) {
		t.Fatalf("paths %v, want %v (internal ones left out)", got, want)
	}
	op := doc.Paths.Value("/api/v1/docs-a/items/").Post
	if op == nil || !slices.Equal(op.Tags, []string{"docs-a"}) || op.RequestBody == nil || op.Responses.Value("201") == nil {
		t.Fatalf("POST items: %+v", op)
	}
	if doc.Paths.Value("/api/v1/docs-a/items/{item_id}/").Get.Security == nil {
		t.Fatal("a public operation must say it needs no token (empty security)")
	}
	if doc.Components.SecuritySchemes["bearer"] == nil {
		t.Fatal("bearer security scheme missing")
	}

	// A service appears: its operations join the document.
	b := startDocService(t, c, "docs-b", false)
	waitServedBy(t, gw.URL+"/api/v1/docs-b/items/1/", "docs-b")
	if got := paths(loadMerged(t, gw.URL)); len(got) != 4 || !slices.Contains(got, "/api/v1/docs-b/items/{item_id}/") {
		t.Fatalf("after docs-b registered: %v", got)
	}
	// Its new version adds a route: the document follows.
	b.deregister(t)
	startDocService(t, c, "docs-b", true)
	err := testkit.Until(context.Background(), 20*time.Second, nil, func(context.Context) error {
		if !slices.Contains(paths(loadMerged(t, gw.URL)), "/api/v1/docs-b/items/{item_id}/extra/") {
			return errString("new route not in the document yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The reference page and its files come from the binary.
	resp, body := call(t, http.MethodGet, gw.URL+"/api/docs/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="swagger-ui-bundle.js"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("reference page: %d %v: %.200s", resp.StatusCode, resp.Header, body)
	}
	for file, ctype := range map[string]string{"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "init.js": "text/javascript"} {
		resp, body := call(t, http.MethodGet, gw.URL+"/api/docs/"+file, nil)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("%s: %d %q (%d bytes)", file, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	resp, body = call(t, http.MethodGet, gw.URL+"/api/docs/nothing.js", nil)
	problemBody(t, resp, body, http.StatusNotFound)
	resp, body = call(t, http.MethodPost, gw.URL+"/api/docs/openapi.json", nil)
	problemBody(t, resp, body, http.StatusMethodNotAllowed)
}

// TestDocsNeverClaimed: no service can take the reference's paths.
func TestDocsNeverClaimed(t *testing.T) {
	o := mustOwners(t, DefaultRouteOwners)
	for _, p := range []string{"/api/docs/", "/api/docs/*", "/api/*"} {
		if e := o.owner(p); e != nil {
			t.Errorf("%s owned by %v", p, e.services)
		}
	}
}
