package httpapi_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"fmt"
	"net/http"

	"hospital/lib/api"
	"hospital/lib/apitest"
	"hospital/lib/auth"
	"hospital/lib/testkit"
	"hospital/svc/appointment/booking"
	bt "hospital/svc/appointment/booking/bookingtest"
	"hospital/svc/appointment/httpapi"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	os.Exit(testkit.Main(m))
}

// resp is an answer of the API (lib/apitest).
type resp = apitest.Response

// server is the appointment API over HTTP, as the service serves it, with
// tokens signed by a key of the test's own.
type server struct {
	*bt.Env
	*apitest.Server
	t *testing.T
}

func newServer(t *testing.T, cfg *booking.Config) *server {
	t.Helper()
	e := bt.New(t, cfg)
	return &server{Env: e, Server: apitest.Serve(t, httpapi.Routes(e.Svc), api.Options{}), t: t}
}

// user is the identity of a test user, with the role the tests gave them.
func (s *server) user(id int64) auth.Identity {
	return auth.Identity{UserID: id, Role: s.Role(id), Username: fmt.Sprintf("u%d", id)}
}

// as calls the API as test user id.
func (s *server) as(id int64, method, path string, body any) resp {
	s.t.Helper()
	return s.Do(method, path, s.Token(s.user(id)), body)
}

func (s *server) book(patient, doctor int64, at string) resp {
	s.t.Helper()
	return s.as(patient, http.MethodPost, "/api/v1/appointments/", map[string]any{"doctor_id": doctor, "appointment_time": at, "reason_for_visit": "Đau đầu"})
}
