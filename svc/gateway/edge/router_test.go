package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"hospital/lib/discovery"
	"hospital/lib/routemeta"
)

func mustOwners(t testing.TB, spec string) *Owners {
	t.Helper()
	o, err := ParseOwners(spec)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRouterFollowsInstances(t *testing.T) {
	rt := NewRouter("gateway", mustOwners(t, "/api/v1/a/=svc-a,/api/v1/b/=svc-b,/api/v1/g/=gateway"), 10*time.Second, time.Minute, quiet)
	a := routemeta.Route{Pattern: "/api/v1/a/*", Public: []string{"GET"}}
	rt.SetInstances("gateway", []discovery.Instance{instance("gateway", "g1", routemeta.Route{Pattern: "/api/v1/g/*"})})
	rt.SetInstances("plain", []discovery.Instance{{ID: "p1", Service: "plain", Meta: map[string]string{"instance": "p1"}}})
	if rt.Size() != 0 {
		t.Fatalf("the gateway itself and services advertising nothing must not add routes; have %d", rt.Size())
	}
	if !rt.Unavailable("/api/v1/a/x") || rt.Unavailable("/api/v1/zzz/") {
		t.Fatal("a path of an owner not seen yet must be unavailable (503); an unowned one not (404)")
	}

	rt.SetInstances("svc-a", []discovery.Instance{instance("svc-a", "a1", a)})
	if got := lookupService(rt, "/api/v1/a/x"); got != "svc-a" {
		t.Fatalf("lookup: %q", got)
	}
	if rt.Unavailable("/api/v1/a/unknown/") {
		t.Fatal("an unknown path of a healthy service must be a 404, not unavailable")
	}
	// No instance left, registered or deregistered: the routes stay, so
	// clients get a 503 while the service restarts, never a 404.
	rt.SetInstances("svc-a", nil)
	if got := lookupService(rt, "/api/v1/a/x"); got != "svc-a" {
		t.Fatalf("route of a service without instances dropped")
	}
	if !rt.Unavailable("/api/v1/a/unknown/") {
		t.Fatal("a path of a service without instances must be unavailable")
	}

	// Instances of one service advertising different versions: the union.
	b1 := routemeta.Route{Pattern: "/api/v1/b/old/"}
	b2 := routemeta.Route{Pattern: "/api/v1/b/new/", Timeout: 2 * time.Hour}
	rt.SetInstances("svc-b", []discovery.Instance{instance("svc-b", "b1", b1), instance("svc-b", "b2", b1, b2)})
	for _, p := range []string{"/api/v1/b/old/", "/api/v1/b/new/"} {
		if got := lookupService(rt, p); got != "svc-b" {
			t.Errorf("%s: %q", p, got)
		}
	}
	if r, _ := rt.Lookup("/api/v1/b/new/"); r.Timeout != time.Minute {
		t.Errorf("advertised timeout not capped: %s", r.Timeout)
	}
	if r, _ := rt.Lookup("/api/v1/b/old/"); r.Timeout != 10*time.Second {
		t.Errorf("default timeout not applied: %s", r.Timeout)
	}
	// Healthy instances that advertise nothing any more: the routes go.
	rt.SetInstances("svc-b", []discovery.Instance{{ID: "b3", Service: "svc-b", Meta: map[string]string{}}})
	if got := lookupService(rt, "/api/v1/b/old/"); got != "" {
		t.Fatalf("route no longer advertised still served by %q", got)
	}
}

func TestRouterOwnership(t *testing.T) {
	shared := routemeta.Route{Pattern: "/api/v1/shared/"}
	refused := func(rt *Router, service, reason string) float64 {
		return testutil.ToFloat64(rt.refusedGauge.WithLabelValues(service, reason))
	}

	// Two allowed owners advertise the same pattern: neither gets it, in
	// either order, and the refusal shows on the gauge.
	for _, order := range [][]string{{"svc-z", "svc-m"}, {"svc-m", "svc-z"}} {
		rt := NewRouter("gateway", mustOwners(t, "/api/v1/shared/=svc-m|svc-z"), time.Second, time.Minute, quiet)
		for _, name := range order {
			rt.SetInstances(name, []discovery.Instance{instance(name, name+"-1", shared,
				routemeta.Route{Pattern: "/api/v1/shared/" + name + "/"})})
		}
		if got := lookupService(rt, "/api/v1/shared/"); got != "" {
			t.Errorf("registered in order %v: duplicate served by %q, want neither", order, got)
		}
		if got := lookupService(rt, "/api/v1/shared/svc-z/"); got != "svc-z" {
			t.Errorf("the duplicate took the service's other routes with it: %q", got)
		}
		if refused(rt, "svc-m", "duplicate") != 1 || refused(rt, "svc-z", "duplicate") != 1 {
			t.Errorf("duplicate not reported on the gauge")
		}
		// One of them stops advertising it: the other gets it.
		rt.SetInstances("svc-m", []discovery.Instance{instance("svc-m", "svc-m-1", routemeta.Route{Pattern: "/api/v1/shared/svc-m/"})})
		if got := lookupService(rt, "/api/v1/shared/"); got != "svc-z" {
			t.Errorf("after the conflict ended: %q, want svc-z", got)
		}
		if refused(rt, "svc-z", "duplicate") != 0 {
			t.Errorf("ended conflict still on the gauge")
		}
	}

	// A service advertising a path it does not own is refused; the owner of
	// the same pattern keeps it (a stray service cannot take a route down).
	rt := NewRouter("gateway", mustOwners(t, "/api/v1/shared/=svc-m,/api/v1/z/=svc-z"), time.Second, time.Minute, quiet)
	rt.SetInstances("svc-m", []discovery.Instance{instance("svc-m", "m1", shared)})
	rt.SetInstances("svc-z", []discovery.Instance{instance("svc-z", "z1", shared,
		routemeta.Route{Pattern: "/api/v1/*"}, routemeta.Route{Pattern: "/api/v1/z/mine/"})})
	for _, order := range [][]string{{"svc-m", "svc-z"}, {"svc-z", "svc-m"}} {
		rt := NewRouter("gateway", mustOwners(t, "/api/v1/shared/=svc-m"), time.Second, time.Minute, quiet)
		for _, name := range order {
			rt.SetInstances(name, []discovery.Instance{instance(name, name+"-1", shared)})
		}
		if got := lookupService(rt, "/api/v1/shared/"); got != "svc-m" {
			t.Errorf("order %v: the owner's pattern served by %q", order, got)
		}
	}
	for path, want := range map[string]string{
		"/api/v1/shared/":  "svc-m",
		"/api/v1/z/mine/":  "svc-z",
		"/api/v1/anything": "", // svc-z's catch-all is not its to claim
	} {
		if got := lookupService(rt, path); got != want {
			t.Errorf("%s: served by %q, want %q", path, got, want)
		}
	}
	if refused(rt, "svc-z", "not_owner") != 2 {
		t.Errorf("not_owner refusals: %v", refused(rt, "svc-z", "not_owner"))
	}
}

func TestOwners(t *testing.T) {
	o := mustOwners(t, DefaultRouteOwners)
	if got := strings.Join(o.Services(), ","); got != "admin,appointment,billing,ehr,lab,notification,pharmacy,user" {
		t.Errorf("owners of the default list: %s", got)
	}
	for pattern, want := range map[string]string{
		"/api/v1/users/*":                          "user",
		"/api/v1/users/login/":                     "user",
		"/api/v1/admin/users/{}/contact-info/":     "user",
		"/api/v1/patients/{}/appointments/":        "appointment",
		"/api/v1/doctors/{}/availability/":         "appointment",
		"/api/v1/patients/{}/invoices/":            "billing",
		"/api/v1/patients/{}/insurance-policies/":  "billing",
		"/api/v1/invoices/{}/pay/":                 "billing",
		"/api/v1/patients/{}/prescriptions/":       "pharmacy",
		"/api/v1/admin/medications/catalog/":       "pharmacy",
		"/api/v1/patients/{}/lab-results/":         "lab",
		"/api/v1/admin/lab-tests/catalog/{}/":      "lab",
		"/api/v1/ehr/patients/{}/encounters/{}/":   "ehr",
		"/api/v1/admin/notification-templates/{}/": "notification",
		"/api/v1/admin/audit-logs/":                "admin",
		"/api/v1/admin/system-configurations/{}/":  "admin",
		"/api/v1/patients/*":                       "",
		"/api/v1/patients/{}/":                     "",
		"/api/v1/admin/*":                          "",
		"/api/v1/{}/appointments/":                 "",
		"/api/v1/*":                                "",
		"/api/docs/openapi.json":                   "",
		"/api/v1/usersX/":                          "",
	} {
		e := o.owner(pattern)
		got := ""
		if e != nil {
			got = strings.Join(e.services, "|")
		}
		if got != want {
			t.Errorf("owner of %s: %q, want %q", pattern, got, want)
		}
		if want != "" && (!o.Allows(want, pattern) || o.Allows("intruder", pattern)) {
			t.Errorf("Allows(%s): wrong", pattern)
		}
	}
	if got := o.OwnersOf("/api/v1/patients/42/appointments/"); len(got) != 1 || got[0] != "appointment" {
		t.Errorf("request path owner: %v", got)
	}
	o2 := mustOwners(t, "/api/v1/patients/{patient_id}/x/=a|b \n /api/v1/patients/7/x/=c")
	if got := o2.OwnersOf("/api/v1/patients/7/x/y"); len(got) != 1 || got[0] != "c" {
		t.Errorf("literal prefix must beat an equally long one with a wildcard: %v", got)
	}
	if got := o2.OwnersOf("/api/v1/patients/8/x/"); strings.Join(got, "|") != "a|b" {
		t.Errorf("several owners: %v", got)
	}
	for _, bad := range []string{"", "/api/=", "api/v1/=a", "/api/v1=a", "/api/*/=a", "/a/=x,/a/=y", "nonsense"} {
		if _, err := ParseOwners(bad); err == nil {
			t.Errorf("ParseOwners(%q) accepted", bad)
		}
	}
}
