package httpapi_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"hospital/lib/api"
	"hospital/lib/apitest"
	"hospital/lib/testkit"
	"hospital/svc/admin/httpapi"
	"hospital/svc/admin/oversight"
	ot "hospital/svc/admin/oversight/oversighttest"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// resp is an answer of the API (lib/apitest).
type resp = apitest.Response

// server is the admin API over HTTP, as the service serves it, with tokens
// signed by a key of the test's own.
type server struct {
	*ot.Env
	*apitest.Server
	t *testing.T
}

func newServer(t *testing.T, cfg *oversight.Config) *server {
	t.Helper()
	e := ot.New(t, cfg)
	return &server{Env: e, Server: apitest.Serve(t, httpapi.Routes(e.Svc), api.Options{}), t: t}
}
