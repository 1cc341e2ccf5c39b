package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"hospital/lib/userapi"
	"hospital/svc/user/accounts"
	"hospital/svc/user/httpapi"
)

func TestPatientsFindDoctorsAndStaffFindPatients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, admin := e.admin()
	staff := func(name, role, first, last string) accounts.User {
		b := regBody(name)
		b["role_name"], b["first_name"], b["last_name"] = role, first, last
		var u accounts.User
		e.call("POST", httpapi.PathAdminUsers, admin.AccessToken, b).want(http.StatusCreated).decode(&u)
		return u
	}
	lan := staff("dr.lan", "DOCTOR", "Lan", "Phạm")
	staff("dr.minh", "DOCTOR", "Minh", "Võ")
	gone := staff("dr.gone", "DOCTOR", "Gone", "Away")
	e.call("POST", path("%s%d/deactivate/", httpapi.PathAdminUsers, gone.ID), admin.AccessToken, nil).want(http.StatusOK)
	staff("nurse.hoa", "NURSE", "Hoa", "Lê")
	body := regBody("patient.binh")
	body["first_name"], body["last_name"], body["date_of_birth"] = "Bình", "Trần", "1970-01-02"
	e.call("POST", httpapi.PathRegister, "", body).want(http.StatusCreated)
	e.register("patient.other")
	patientTok := e.login("patient.binh", goodPassword).AccessToken

	type page[T any] struct {
		Count   int `json:"count"`
		Results []T `json:"results"`
	}
	var docs page[accounts.DoctorListing]
	e.call("GET", httpapi.PathDoctors, patientTok, nil).want(http.StatusOK).decode(&docs)
	if docs.Count != 2 || docs.Results[0].ID != lan.ID || docs.Results[0].Name != "Lan Phạm" {
		t.Fatalf("doctors %+v (the inactive one and the nurse must not be there)", docs)
	}
	r := e.call("GET", httpapi.PathDoctors+"?search=minh", patientTok, nil).want(http.StatusOK)
	r.decode(&docs)
	if docs.Count != 1 || strings.Contains(string(r.Body), "email") {
		t.Fatalf("doctor search %s", r.Body)
	}
	e.call("GET", httpapi.PathDoctors, "", nil).problem(http.StatusUnauthorized)
	e.call("GET", httpapi.PathDoctors, e.serviceAs("appointment"), nil).problem(http.StatusForbidden)

	doctorTok := e.login("dr.lan", goodPassword).AccessToken
	var pats page[accounts.PatientListing]
	e.call("GET", httpapi.PathPatients+"?search=Tr%E1%BA%A7n", doctorTok, nil).want(http.StatusOK).decode(&pats)
	if pats.Count != 1 || pats.Results[0].Username != "patient.binh" || pats.Results[0].DateOfBirth == nil {
		t.Fatalf("patient search %+v", pats)
	}
	// Only patients, never staff, come back.
	e.call("GET", httpapi.PathPatients+"?search=example.com", e.login("nurse.hoa", goodPassword).AccessToken, nil).
		want(http.StatusOK).decode(&pats)
	if pats.Count != 2 {
		t.Fatalf("search by email domain: %+v", pats)
	}
	e.call("GET", httpapi.PathPatients+"?search=a", doctorTok, nil).fieldError("search")
	e.call("GET", httpapi.PathPatients, doctorTok, nil).fieldError("search")
	e.call("GET", httpapi.PathPatients+"?search=binh", patientTok, nil).problem(http.StatusForbidden)
	// Every search that shows patients is audited.
	if n := e.count(`SELECT COUNT(*) FROM outbox_messages WHERE target_service = 'admin' AND body LIKE '%user.patients.search%'`); n != 2 {
		t.Fatalf("%d audit events for two searches that found patients", n)
	}
}

func TestPreferredLanguageAndPushTokenReachContactInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("lingo")
	tok := e.login("lingo", goodPassword).AccessToken
	var me accounts.User
	e.call("PUT", httpapi.PathMe, tok, obj{"language": "en", "push_token": "fcm:device-123"}).want(http.StatusOK).decode(&me)
	if me.Language != "en" {
		t.Fatalf("language %q", me.Language)
	}
	var c userapi.Contact
	e.call("GET", path("%s%d/contact-info/", httpapi.PathInternalUsers, u.ID), e.serviceAs("notification"), nil).
		want(http.StatusOK).decode(&c)
	if c.Language != "en" || c.PushToken == nil || *c.PushToken != "fcm:device-123" {
		t.Fatalf("contact %+v", c)
	}
	e.call("PUT", httpapi.PathMe, tok, obj{"push_token": ""}).want(http.StatusOK)
	e.call("GET", path("%s%d/contact-info/", httpapi.PathInternalUsers, u.ID), e.serviceAs("notification"), nil).
		want(http.StatusOK).decode(&c)
	if c.PushToken != nil || c.Language != "en" {
		t.Fatalf("after removing the device: %+v", c)
	}
}
