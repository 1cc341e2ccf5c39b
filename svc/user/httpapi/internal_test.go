package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"hospital/lib/auth"
	"hospital/lib/userapi"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

// serviceAs signs a service token for name, as the user service would issue it.
func (e *env) serviceAs(name string) string {
	e.t.Helper()
	tok, err := e.signer.Sign(auth.Identity{Role: auth.RoleService, Service: name}, time.Minute, "test-"+name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func TestInternalUserEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.admin()
	body := regBody("lab.patient")
	body["sex"], body["date_of_birth"] = "F", "1990-04-30"
	var patient accounts.User
	e.call("POST", httpapi.PathRegister, "", body).want(http.StatusCreated).decode(&patient)
	for i, name := range []string{"tech.one", "tech.two", "tech.three"} {
		b := regBody(name)
		b["role_name"] = auth.RoleLabTechnician
		var u accounts.User
		e.call("POST", httpapi.PathAdminUsers, admin.AccessToken, b).want(http.StatusCreated).decode(&u)
		if i == 2 {
			e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, u.ID), admin.AccessToken, nil).want(http.StatusOK)
		}
	}
	summary := path("%s%d/", httpapi.PathInternalUsers, patient.ID)
	contact := summary + "contact-info/"

	var u userapi.User
	e.call("GET", summary, e.serviceAs("lab"), nil).want(http.StatusOK).decode(&u)
	if u.ID != patient.ID || u.Role != auth.RolePatient || u.DisplayName() != "Văn A Nguyễn" ||
		u.Sex == nil || *u.Sex != "F" || u.DateOfBirth == nil || *u.DateOfBirth != "1990-04-30" {
		t.Fatalf("summary %+v", u)
	}
	r := e.call("GET", summary, e.serviceAs("billing"), nil).want(http.StatusOK)
	assertJSON(t, r.Body, `{"id":`+itoa(patient.ID)+`,"username":"lab.patient","first_name":"Văn A","last_name":"Nguyễn",
		"role":"PATIENT","is_active":true,"sex":"F","date_of_birth":"1990-04-30"}`)
	e.call("GET", path("%s%d/", httpapi.PathInternalUsers, 999999), e.serviceAs("lab"), nil).problem(http.StatusNotFound)

	var c userapi.Contact
	e.call("GET", contact, e.serviceAs("notification"), nil).want(http.StatusOK).decode(&c)
	if c.UserID != patient.ID || c.Email != "lab.patient@example.com" || c.Language != "vi" {
		t.Fatalf("contact %+v", c)
	}

	var page userapi.UserPage
	list := httpapi.PathInternalUsers + "?role=LAB_TECHNICIAN&is_active=true&page_size=1"
	e.call("GET", list, e.serviceAs("pharmacy"), nil).want(http.StatusOK).decode(&page)
	if page.Count != 2 || len(page.Results) != 1 || page.Next == nil || page.Results[0].Role != auth.RoleLabTechnician {
		t.Fatalf("list page %+v", page)
	}
	e.call("GET", httpapi.PathInternalUsers+"?role=CHEF", e.serviceAs("lab"), nil).fieldError("role")

	// Least privilege: each endpoint refuses the services that do not need it.
	for _, c := range []struct{ path, service string }{
		{httpapi.PathInternalUsers, "gateway"},
		{httpapi.PathInternalUsers, "notification"},
		{httpapi.PathInternalUsers, "billing"},
		{summary, "gateway"},
		{summary, "notification"},
		{contact, "gateway"},
		{contact, "billing"},
		{contact, "lab"},
	} {
		e.call("GET", c.path, e.serviceAs(c.service), nil).problem(http.StatusForbidden)
	}
	// Users, even an ADMIN, use the admin API instead.
	for _, p := range []string{summary, contact, httpapi.PathInternalUsers} {
		e.call("GET", p, admin.AccessToken, nil).problem(http.StatusForbidden)
	}
}

func TestSexAndDateOfBirth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.admin()
	with := func(name, sex, born string) obj {
		b := regBody(name)
		b["sex"], b["date_of_birth"] = sex, born
		return b
	}
	e.call("POST", httpapi.PathRegister, "", with("bad.sex", "X", "")).fieldError("sex")
	e.call("POST", httpapi.PathRegister, "", with("bad.date", "", "30/04/1990")).fieldError("date_of_birth")
	e.call("POST", httpapi.PathRegister, "", with("future", "", time.Now().AddDate(1, 0, 0).Format(time.DateOnly))).fieldError("date_of_birth")
	e.call("POST", httpapi.PathRegister, "", with("ancient", "", "1850-01-01")).fieldError("date_of_birth")
	if n := e.rows("users"); n != 1 {
		t.Fatalf("refused registrations wrote users: %d", n)
	}

	var u accounts.User
	e.call("POST", httpapi.PathRegister, "", with("no.details", "", "")).want(http.StatusCreated).decode(&u)
	if u.Sex != nil || u.DateOfBirth != nil {
		t.Fatalf("blank sex and birth date stored: %+v", u)
	}
	tok := e.login("no.details", goodPassword).AccessToken
	e.call("PUT", httpapi.PathMe, tok, obj{"sex": "M", "date_of_birth": "1985-12-01"}).want(http.StatusOK).decode(&u)
	if u.Sex == nil || *u.Sex != "M" || u.DateOfBirth == nil || *u.DateOfBirth != "1985-12-01" {
		t.Fatalf("PUT me: %+v", u)
	}
	e.call("PUT", httpapi.PathMe, tok, obj{"date_of_birth": "2999-01-01"}).fieldError("date_of_birth")
	e.call("PUT", httpapi.PathMe, tok, obj{"sex": "male"}).fieldError("sex")

	adminPath := path("%s%d/", httpapi.PathAdminUsers, u.ID)
	e.call("PUT", adminPath, tok, obj{"sex": "F"}).problem(http.StatusForbidden)
	e.call("PUT", adminPath, admin.AccessToken, obj{"sex": "F", "date_of_birth": "", "last_name": "Trần"}).want(http.StatusOK).decode(&u)
	if u.Sex == nil || *u.Sex != "F" || u.DateOfBirth != nil || u.LastName != "Trần" {
		t.Fatalf("admin correction: %+v", u)
	}
	e.call("PUT", adminPath, admin.AccessToken, obj{"date_of_birth": "yesterday"}).fieldError("date_of_birth")
	e.call("PUT", adminPath, admin.AccessToken, obj{"email": "x@example.com"}).fieldError("email")
	e.call("PUT", path("%s%d/", httpapi.PathAdminUsers, 999999), admin.AccessToken, obj{"sex": "F"}).problem(http.StatusNotFound)
	var me accounts.User
	e.call("GET", httpapi.PathMe, tok, nil).want(http.StatusOK).decode(&me)
	if !sameJSON(me, u) {
		t.Fatalf("refused corrections changed the account: %+v", me)
	}
}
