package httpapi_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"fmt"

	"hospital/lib/api"
	"hospital/lib/apitest"
	"hospital/lib/auth"
	"hospital/lib/testkit"
	dt "hospital/svc/pharmacy/dispensing/dispensingtest"
	"hospital/svc/pharmacy/httpapi"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// resp is an answer of the API (lib/apitest).
type resp = apitest.Response

// server is the pharmacy API over HTTP, as the service serves it, with
// tokens signed by a key of the test's own.
type server struct {
	*dt.Env
	*apitest.Server
	t *testing.T
}

func newServer(t *testing.T) *server {
	t.Helper()
	e := dt.New(t, nil)
	return &server{Env: e, Server: apitest.Serve(t, httpapi.Routes(e.Svc), api.Options{}), t: t}
}

// user is a token of test user id, with the role the tests gave them.
func (s *server) user(id int64) string {
	return s.Token(auth.Identity{UserID: id, Role: s.Role(id), Username: fmt.Sprintf("u%d", id)})
}
