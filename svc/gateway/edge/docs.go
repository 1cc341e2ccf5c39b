package edge

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"hospital/lib/problem"
	"hospital/lib/service"
	"hospital/lib/svcclient"
)

// docsPrefix is where the gateway serves the platform's API reference: the
// merged OpenAPI document (openapi.json) and an interactive page (Swagger
// UI, embedded; scripts/swagger-ui.sh refreshes it from npm).
const docsPrefix = "/api/docs/"

//go:embed docsui
var docsUI embed.FS

// docsPageCSP lets the reference page run its own scripts and styles only.
const docsPageCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// How long a service's document is reused before it is asked again, and how
// long asking may take.
const (
	docMaxAge       = time.Minute
	docFetchTimeout = 3 * time.Second
)

// docs builds the merged OpenAPI document of every service the gateway
// routes to: each service's own document (GET /openapi.json on its
// listener), keeping only the operations the gateway routes to that service
// (public paths; internal ones are never routed), each tagged with its
// service. It follows the routing table: a service that appears, or whose
// routes change, is asked again.
type docs struct {
	router *Router
	client *svcclient.Client
	log    *slog.Logger

	mu      sync.Mutex
	perSvc  map[string]*serviceDoc
	merged  []byte
	version string // what merged was built from
}

type serviceDoc struct {
	routes  string // the service's patterns when fetched
	fetched time.Time
	doc     *openapi3.T
}

func newDocs(router *Router, client *svcclient.Client, log *slog.Logger) *docs {
	return &docs{router: router, client: client, log: log, perSvc: map[string]*serviceDoc{}}
}

func (d *docs) serves(p string) bool { return p == "/api/docs" || strings.HasPrefix(p, docsPrefix) }

func (d *docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		problem.Write(w, r, problem.New(http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`))
		return
	}
	name := strings.TrimPrefix(r.URL.Path, docsPrefix)
	switch name {
	case "/api/docs":
		http.Redirect(w, r, docsPrefix, http.StatusMovedPermanently)
	case "openapi.json":
		doc, err := d.Document(r.Context())
		if err != nil {
			d.log.ErrorContext(r.Context(), "merge openapi documents", "err", err.Error())
			problem.Write(w, r, problem.New(http.StatusInternalServerError, "The API document could not be built."))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	case "", "index.html", "init.js", "swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE":
		if name == "" {
			name = "index.html"
		}
		body, err := docsUI.ReadFile("docsui/" + name)
		if err != nil {
			problem.Write(w, r, problem.NotFound("Not found."))
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType(name))
		h.Set("Content-Security-Policy", docsPageCSP)
		if name != "index.html" {
			h.Set("Cache-Control", "public, max-age=86400")
		}
		_, _ = w.Write(body)
	default:
		problem.Write(w, r, problem.NotFound("Not found."))
	}
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

// Document returns the merged document, rebuilding it when the routing
// table changed or a service's document is older than docMaxAge.
func (d *docs) Document(ctx context.Context) ([]byte, error) {
	byService := map[string][]string{}
	for _, r := range d.router.Routes() {
		byService[r.Service] = append(byService[r.Service], r.Pattern)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	names := make([]string, 0, len(byService))
	for name, patterns := range byService {
		names = append(names, name)
		d.refresh(ctx, name, strings.Join(patterns, " "))
	}
	slices.Sort(names)
	var version strings.Builder
	for _, name := range names {
		if sd := d.perSvc[name]; sd != nil {
			fmt.Fprintf(&version, "%s|%s|%d;", name, sd.routes, sd.fetched.UnixNano())
		}
	}
	if d.merged != nil && version.String() == d.version {
		return d.merged, nil
	}
	doc := d.merge(names)
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode merged document: %w", err)
	}
	d.merged, d.version = raw, version.String()
	return raw, nil
}

// refresh asks service for its document when its routes changed or its copy
// is old; on failure the old copy (if any) stays.
func (d *docs) refresh(ctx context.Context, name, routes string) {
	sd := d.perSvc[name]
	if sd != nil && sd.routes == routes && time.Since(sd.fetched) < docMaxAge {
		return
	}
	resp, err := d.client.Do(ctx, svcclient.Request{
		Service: name, Method: http.MethodGet, Path: service.OpenAPIPath, Anonymous: true, Timeout: docFetchTimeout,
	})
	if err == nil && resp.Status != http.StatusOK {
		err = fmt.Errorf("status %d", resp.Status)
	}
	var doc *openapi3.T
	if err == nil {
		doc, err = openapi3.NewLoader().LoadFromData(resp.Body)
	}
	if err != nil {
		d.log.WarnContext(ctx, "service's openapi document unavailable", "target", name, "err", err.Error())
		return
	}
	d.perSvc[name] = &serviceDoc{routes: routes, fetched: time.Now(), doc: doc}
}

var templateVar = regexp.MustCompile(`\{[^/{}]+\}`)

// merge combines the documents of names, keeping each operation only where
// the gateway sends its path to that service.
func (d *docs) merge(names []string) *openapi3.T {
	out := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       "Hospital platform API",
			Version:     "1",
			Description: "Every service's public API, as the gateway routes it. Errors are RFC 9457 problem details.",
		},
		Servers:    openapi3.Servers{{URL: "/"}},
		Paths:      openapi3.NewPaths(),
		Components: &openapi3.Components{Schemas: openapi3.Schemas{}, SecuritySchemes: openapi3.SecuritySchemes{}},
	}
	for _, name := range names {
		sd := d.perSvc[name]
		if sd == nil {
			continue
		}
		out.Tags = append(out.Tags, &openapi3.Tag{Name: name, Description: "The " + name + " service."})
		for p, item := range sd.doc.Paths.Map() {
			sample := templateVar.ReplaceAllString(p, "1")
			if internalPath(sample) {
				continue
			}
			if r, ok := d.router.Lookup(sample); !ok || r.Service != name {
				continue // not routed to this service
			}
			for _, op := range item.Operations() {
				op.Tags = []string{name}
			}
			out.Paths.Set(p, item)
		}
		if c := sd.doc.Components; c != nil {
			for k, v := range c.SecuritySchemes {
				if _, ok := out.Components.SecuritySchemes[k]; !ok {
					out.Components.SecuritySchemes[k] = v
				}
			}
			for k, v := range c.Schemas {
				if _, ok := out.Components.Schemas[k]; ok {
					d.log.Warn("openapi schema name used by two services; the first kept", "schema", k, "target", name)
					continue
				}
				out.Components.Schemas[k] = v
			}
		}
	}
	return out
}
