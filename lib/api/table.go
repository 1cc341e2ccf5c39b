package api

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Markers around the generated authorization table in a service's README.
const (
	tableBegin = "<!-- api-table:begin (generated from the routes; `go test` checks it) -->"
	tableEnd   = "<!-- api-table:end -->"
)

// Table is the Markdown table of routes: method, path, who may call, what
// it does. Each service's README carries it between the markers above.
func Table(routes []Route) string {
	var b strings.Builder
	b.WriteString("| method | path | who may call | what it does |\n|---|---|---|---|\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.Method, pathVar.ReplaceAllString(r.Path, "{$1}"), r.Access, r.Summary)
	}
	return b.String()
}

// UpdateEnv, set to 1, makes CheckREADME write the current table into the
// README instead of failing: UPDATE_API_TABLES=1 go test ./...
const UpdateEnv = "UPDATE_API_TABLES"

// CheckREADME reports whether the README at path carries Table(routes)
// between the markers, so the authorization table a reader trusts is the
// one the router enforces. The error holds the block to paste.
func CheckREADME(path string, routes []Route) error {
	readme, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	want := tableBegin + "\n" + Table(routes) + tableEnd
	if bytes.Contains(readme, []byte(want)) {
		return nil
	}
	begin, end := bytes.Index(readme, []byte(tableBegin)), bytes.Index(readme, []byte(tableEnd))
	if os.Getenv(UpdateEnv) == "1" && begin >= 0 && end > begin {
		updated := append(append(slices.Clone(readme[:begin]), want...), readme[end+len(tableEnd):]...)
		return os.WriteFile(path, updated, 0o644)
	}
	return fmt.Errorf("%s does not carry the current API table; run %s=1 go test ./... to write it, or put this block in it (replacing the old one):\n\n%s\n", path, UpdateEnv, want)
}
