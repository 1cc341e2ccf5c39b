package httpapi_test

import (
	"context"
	"hospital/lib/api"
	"net/http"
	"sync"
	"testing"

	"hospital/lib/routemeta"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
	"hospital/svc/user/store"
)

func TestAdminReadEndpointsAuthorization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, adminPair := e.admin()
	patient := e.register("patient.one")
	e.register("patient.two")
	patientTok := e.login("patient.one", goodPassword).AccessToken
	svcTok := e.serviceToken()
	detail := path("%s%d/", httpapi.PathAdminUsers, patient.ID)
	contact := path("%s%d/contact-info/", httpapi.PathAdminUsers, patient.ID)

	for _, p := range []string{detail, contact, httpapi.PathAdminUsers} {
		e.call("GET", p, "", nil).problem(http.StatusUnauthorized)
		e.call("GET", p, patientTok, nil).problem(http.StatusForbidden)
	}
	// Not even their own record through the admin API.
	e.call("GET", contact, patientTok, nil).problem(http.StatusForbidden)

	// Least privilege: a service reads only what it needs.
	e.call("GET", detail, svcTok, nil).problem(http.StatusForbidden)
	e.call("GET", contact, svcTok, nil).problem(http.StatusForbidden)
	e.call("GET", httpapi.PathAdminUsers, svcTok, nil).problem(http.StatusForbidden)
	var got accounts.User
	e.call("GET", detail, adminPair.AccessToken, nil).want(http.StatusOK).decode(&got)
	if !sameJSON(got, patient) {
		t.Fatalf("admin detail %+v, want %+v", got, patient)
	}
	// Reading a patient's account is audited, naming the patient and the reader.
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin'
		AND body LIKE '%"action_performed":"user.account.read"%' AND body LIKE ?`,
		`%"patient_id":`+itoa(patient.ID)+`%`); n != 1 {
		t.Fatalf("%d audit events for one read of a patient", n)
	}
	for _, tok := range []string{adminPair.AccessToken, e.serviceTokenOf("notification")} {
		r := e.call("GET", contact, tok, nil).want(http.StatusOK)
		assertJSON(t, r.Body, `{"user_id":`+itoa(patient.ID)+`,"email":"patient.one@example.com","phone_number":null,
			"first_name":"Văn A","last_name":"Nguyễn","username":"patient.one","push_token":null,"language":"vi"}`)
	}
	e.call("GET", path("%s%d/", httpapi.PathAdminUsers, 999999), adminPair.AccessToken, nil).problem(http.StatusNotFound)
	e.call("GET", path("%s%d/contact-info/", httpapi.PathAdminUsers, 999999), adminPair.AccessToken, nil).problem(http.StatusNotFound)

	// Services read, but do not manage.
	e.call("POST", httpapi.PathAdminUsers, svcTok, regBody("svcmade")).problem(http.StatusForbidden)
	e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, patient.ID), svcTok, nil).problem(http.StatusForbidden)
}

func TestAdminManagesStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, adminPair := e.admin()
	tok := adminPair.AccessToken
	patientTok := func() string { e.register("pat"); return e.login("pat", goodPassword).AccessToken }()

	doctorBody := regBody("dr.tran")
	doctorBody["role_name"] = "DOCTOR"
	e.call("POST", httpapi.PathAdminUsers, patientTok, doctorBody).problem(http.StatusForbidden)
	if n := e.count(`SELECT COUNT(*) FROM users WHERE username = 'dr.tran'`); n != 0 {
		t.Fatal("a patient created a doctor")
	}

	var doctor accounts.User
	e.call("POST", httpapi.PathAdminUsers, tok, doctorBody, "Idempotency-Key", "create-dr-tran").want(http.StatusCreated).decode(&doctor)
	if doctor.Role != "DOCTOR" || !doctor.IsStaff || !doctor.IsActive {
		t.Fatalf("created doctor %+v", doctor)
	}
	var replay accounts.User
	e.call("POST", httpapi.PathAdminUsers, tok, doctorBody, "Idempotency-Key", "create-dr-tran").want(http.StatusCreated).decode(&replay)
	if replay.ID != doctor.ID || e.count(`SELECT COUNT(*) FROM users WHERE username = 'dr.tran'`) != 1 {
		t.Fatal("idempotent admin create made two doctors")
	}
	nurseBody := regBody("nurse.le")
	nurseBody["role_name"] = "NURSE"
	e.call("POST", httpapi.PathAdminUsers, tok, nurseBody).want(http.StatusCreated)
	e.call("POST", httpapi.PathAdminUsers, tok, regBody("norole")).fieldError("role_name")
	bad := regBody("badrole")
	bad["role_name"] = "JANITOR"
	e.call("POST", httpapi.PathAdminUsers, tok, bad).fieldError("role_name")
	e.call("POST", httpapi.PathAdminUsers, tok, `{"username":`).problem(http.StatusBadRequest)

	doctorPair := e.login("dr.tran", goodPassword)
	id, err := e.svc.Verifier().Verify(context.Background(), doctorPair.AccessToken)
	if err != nil || id.Role != "DOCTOR" {
		t.Fatalf("doctor token %+v %v", id, err)
	}
	// A doctor is staff, but not an admin.
	e.call("GET", httpapi.PathAdminUsers, doctorPair.AccessToken, nil).problem(http.StatusForbidden)

	// List, filter, search, paginate.
	type page struct {
		Count    int             `json:"count"`
		Next     *string         `json:"next"`
		Previous *string         `json:"previous"`
		Results  []accounts.User `json:"results"`
	}
	var p page
	e.call("GET", httpapi.PathAdminUsers, tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 4 || len(p.Results) != 4 || p.Next != nil || p.Previous != nil {
		t.Fatalf("list all: %+v", p)
	}
	e.call("GET", httpapi.PathAdminUsers+"?role=DOCTOR", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 1 || p.Results[0].ID != doctor.ID {
		t.Fatalf("filter by role: %+v", p)
	}
	e.call("GET", httpapi.PathAdminUsers+"?search=le%40example", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 1 || p.Results[0].Username != "nurse.le" {
		t.Fatalf("search by email: %+v", p)
	}
	e.call("GET", httpapi.PathAdminUsers+"?search=Nguy%E1%BB%85n%20", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 3 {
		t.Fatalf("search by last name: %d results", p.Count)
	}
	e.call("GET", httpapi.PathAdminUsers+"?search=100%25", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 0 {
		t.Fatalf("a literal %% matched %d users", p.Count)
	}
	e.call("GET", httpapi.PathAdminUsers+"?page_size=3", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 4 || len(p.Results) != 3 || p.Next == nil || p.Previous != nil {
		t.Fatalf("page 1: %+v", p)
	}
	e.call("GET", httpapi.PathAdminUsers+"?page_size=3&page=2", tok, nil).want(http.StatusOK).decode(&p)
	if len(p.Results) != 1 || p.Next != nil || p.Previous == nil {
		t.Fatalf("page 2: %+v", p)
	}
	e.call("GET", httpapi.PathAdminUsers+"?page=9", tok, nil).problem(http.StatusNotFound)
	e.call("GET", httpapi.PathAdminUsers+"?role=CHEF", tok, nil).fieldError("role")
	e.call("GET", httpapi.PathAdminUsers+"?is_active=maybe", tok, nil).fieldError("is_active")

	// Deactivation: no login, no verify, no refresh, no API.
	deactivate := path("%s%d/deactivate/", httpapi.PathAdminUsers, doctor.ID)
	e.call("POST", deactivate, patientTok, nil).problem(http.StatusForbidden)
	var off accounts.User
	e.call("POST", deactivate, tok, nil).want(http.StatusOK).decode(&off)
	if off.IsActive {
		t.Fatal("deactivate answered an active user")
	}
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin'
		AND body LIKE '%"action_performed":"user.account.deactivate"%' AND body LIKE ?`, `%"object_id":"`+itoa(doctor.ID)+`"%`); n != 1 {
		t.Fatalf("%d audit events for a deactivation", n)
	}
	e.call("POST", httpapi.PathLogin, "", obj{"username": "dr.tran", "password": goodPassword}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathVerify, "", obj{"token": doctorPair.AccessToken}).problem(http.StatusUnauthorized)
	e.call("POST", httpapi.PathRefresh, "", obj{"refresh_token": doctorPair.RefreshToken}).problem(http.StatusUnauthorized)
	e.call("GET", httpapi.PathMe, doctorPair.AccessToken, nil).problem(http.StatusUnauthorized)
	e.call("GET", httpapi.PathAdminUsers+"?is_active=false", tok, nil).want(http.StatusOK).decode(&p)
	if p.Count != 1 || p.Results[0].ID != doctor.ID {
		t.Fatalf("filter inactive: %+v", p)
	}

	// An admin cannot lock themself out.
	e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, admin.ID), tok, nil).problem(http.StatusBadRequest)
	e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, 999999), tok, nil).problem(http.StatusNotFound)

	e.call("POST", path("%s%d/activate/", httpapi.PathAdminUsers, doctor.ID), tok, nil).want(http.StatusOK)
	e.login("dr.tran", goodPassword)

	// A deactivated admin's token stops working at once.
	var second accounts.User
	adminBody := regBody("second.admin")
	adminBody["role_name"] = "ADMIN"
	e.call("POST", httpapi.PathAdminUsers, tok, adminBody).want(http.StatusCreated).decode(&second)
	secondTok := e.login("second.admin", goodPassword).AccessToken
	e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, second.ID), tok, nil).want(http.StatusOK)
	e.call("GET", httpapi.PathAdminUsers, secondTok, nil).problem(http.StatusUnauthorized)
}

func TestBootstrapAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Bootstrap(ctx, "admin", "admin", "admin@example.com"); err == nil {
		t.Fatal("a weak bootstrap password was accepted")
	}
	if _, err := e.svc.Bootstrap(ctx, "admin", "Str0ng-Bootstrap!", "not-an-email"); err == nil {
		t.Fatal("a bad bootstrap email was accepted")
	}
	if n := e.rows("users"); n != 0 {
		t.Fatalf("refused bootstraps created %d users", n)
	}

	// Two instances starting at once create one admin.
	other := accounts.New(store.New(e.db), accounts.Options{Signer: e.signer})
	var (
		wg      sync.WaitGroup
		created [2]bool
		errs    [2]error
	)
	for i, svc := range []*accounts.Service{e.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created[i], errs[i] = svc.Bootstrap(ctx, "admin", "Str0ng-Bootstrap!", "admin@example.com")
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || created[0] == created[1] {
		t.Fatalf("concurrent bootstrap: created %v, errors %v", created, errs)
	}
	if n := e.count(`SELECT COUNT(*) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'ADMIN'`); n != 1 {
		t.Fatalf("%d admins after concurrent bootstrap", n)
	}
	// Later start-ups leave it alone, whatever the environment says.
	if again, err := e.svc.Bootstrap(ctx, "other.admin", "Str0ng-Bootstrap!", "other@example.com"); err != nil || again {
		t.Fatalf("second bootstrap: created %v, err %v", again, err)
	}
	pair := e.login("admin", "Str0ng-Bootstrap!")
	var me accounts.User
	e.call("GET", httpapi.PathMe, pair.AccessToken, nil).want(http.StatusOK).decode(&me)
	if me.Role != "ADMIN" || !me.IsStaff || !me.IsActive {
		t.Fatalf("bootstrap admin %+v", me)
	}
	assertNotLogged(t, "Str0ng-Bootstrap!")
}

func TestGatewayRoutes(t *testing.T) {
	routes := api.GatewayRoutes(httpapi.Routes(nil))
	if _, err := routemeta.Encode(routes); err != nil {
		t.Fatal(err)
	}
	best := func(p string) (routemeta.Route, bool) {
		var (
			out   routemeta.Route
			score = -1
		)
		for _, r := range routes {
			if ok, s := routemeta.Match(r.Pattern, p); ok && s > score {
				out, score = r, s
			}
		}
		return out, score >= 0
	}
	for _, c := range []struct {
		path, method string
		public       bool
	}{
		{httpapi.PathRegister, "POST", true},
		{httpapi.PathLogin, "POST", true},
		{httpapi.PathRefresh, "POST", true},
		{httpapi.PathVerify, "POST", true},
		{httpapi.PathPasswordReset, "POST", true},
		{httpapi.PathResetConfirm, "POST", true},
		{httpapi.PathJWKS, "GET", true},
		{httpapi.PathLogout, "POST", false},
		{httpapi.PathMe, "GET", false},
		{httpapi.PathMe, "PUT", false},
		{httpapi.PathPasswordChg, "POST", false},
		{httpapi.PathAdminUsers, "GET", false},
		{httpapi.PathAdminUsers + "12/contact-info/", "GET", false},
		{httpapi.PathLogin, "GET", false},
	} {
		r, ok := best(c.path)
		if !ok || r.Timeout == 0 {
			t.Fatalf("%s is not routed here (or has no timeout)", c.path)
		}
		if r.IsPublic(c.method) != c.public {
			t.Fatalf("%s %s public=%v, want %v", c.method, c.path, r.IsPublic(c.method), c.public)
		}
	}
}
