package httpapi

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
)

// The two small pages the links in emails open, served through the gateway
// like any public endpoint: plain HTML, their script and style inline and
// pinned by hash in the Content-Security-Policy, nothing from elsewhere.
// The token stays in the query string, read by the script: the server never
// writes request input into the page.

//go:embed pages/*.html
var pageFiles embed.FS

type page struct {
	body []byte
	csp  string
}

var (
	resetPage        = loadPage("pages/reset.html")
	confirmEmailPage = loadPage("pages/confirm-email.html")
)

var inline = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

func loadPage(name string) page {
	body, err := pageFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot happen in a built binary
	}
	hashes := map[string]string{}
	for _, m := range inline.FindAllSubmatch(body, -1) {
		sum := sha256.Sum256(m[2])
		hashes[string(m[1])] += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return page{body: body, csp: fmt.Sprintf("default-src 'none'; script-src%s; style-src%s; connect-src 'self'; "+
		"form-action 'none'; frame-ancestors 'none'; base-uri 'none'", hashes["script"], hashes["style"])}
}

func (p page) serve(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.body)
	return nil
}
