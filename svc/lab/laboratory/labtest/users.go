// Package labtest holds what the tests of laboratory and httpapi share: a
// real user service with the people the tests act as, a lab Service over a
// fresh FerretDB database, and a catalog to order from. Tests import it;
// nothing else does.
package labtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"hospital/lib/auth"
	"hospital/lib/testkit"
)

// Secret is the lab service's client secret at the test user service;
// Password every test user's.
const (
	Secret   = "lab-test-secret"
	Password = "Blue-Lotus-2026"
)

// People are the users the tests act as, by their ids in the user service.
type People struct {
	Man      int64 // PATIENT, M, born 1980-03-15
	Woman    int64 // PATIENT, F, born 1990-07-01
	Child    int64 // PATIENT, F, born 2019-06-01
	Unknown  int64 // PATIENT, sex and date of birth not recorded
	Inactive int64 // PATIENT, deactivated
	Doctor   int64
	Doctor2  int64
	Nurse    int64
	Tech     int64
	Tech2    int64
	Admin    int64
	Role     map[int64]string
}

// Users is a real user service in a Consul agent of its own.
type Users struct {
	People
	Consul *testkit.Consul
	Svc    *testkit.UserService
}

// SharedUsers is started by the first test that needs it.
var SharedUsers = testkit.SharedOnce(startUsers)

func startUsers(t testing.TB) *Users {
	u := &Users{Consul: testkit.StartConsul(t)}
	u.Role = map[int64]string{}
	u.Svc = testkit.StartUserService(t, u.Consul, "lab="+Secret)
	admin := u.login(t, u.Svc.AdminUsername, u.Svc.AdminPassword)
	mk := func(username, role, first, last string, extra map[string]any) int64 {
		body := map[string]any{"username": username, "email": username + "@hospital.test", "password": Password,
			"first_name": first, "last_name": last}
		for k, v := range extra {
			body[k] = v
		}
		path, tok := "/api/v1/users/register/", ""
		if role != auth.RolePatient {
			body["role_name"], path, tok = role, "/api/v1/admin/users/", admin
		}
		var out struct {
			ID int64 `json:"id"`
		}
		if status, raw := u.call(t, http.MethodPost, path, tok, body, &out); status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", username, status, raw)
		}
		u.Role[out.ID] = role
		return out.ID
	}
	u.Man = mk("labnam", auth.RolePatient, "Nguyen Van", "Nam", map[string]any{"sex": "M", "date_of_birth": "1980-03-15"})
	u.Woman = mk("labhoa", auth.RolePatient, "Tran Thi", "Hoa", map[string]any{"sex": "F", "date_of_birth": "1990-07-01"})
	u.Child = mk("labbe", auth.RolePatient, "Le Ngoc", "Be", map[string]any{"sex": "F", "date_of_birth": "2019-06-01"})
	u.Unknown = mk("labanh", auth.RolePatient, "Pham", "Anh", nil)
	u.Inactive = mk("labcu", auth.RolePatient, "Do Van", "Cu", nil)
	u.Doctor = mk("labdrminh", auth.RoleDoctor, "Le Van", "Minh", nil)
	u.Doctor2 = mk("labdrlan", auth.RoleDoctor, "Vo Thi", "Lan", nil)
	u.Nurse = mk("labnurse", auth.RoleNurse, "Hoang", "Yen", nil)
	u.Tech = mk("labtech", auth.RoleLabTechnician, "Bui", "Tuan", nil)
	u.Tech2 = mk("labtech2", auth.RoleLabTechnician, "Dang", "Khoa", nil)
	u.Admin = mk("labadmin", auth.RoleAdmin, "Admin", "Lab", nil)
	if status, raw := u.call(t, http.MethodPost, fmt.Sprintf("/api/v1/admin/users/%d/deactivate/", u.Inactive), admin, nil, nil); status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", status, raw)
	}
	return u
}

func (u *Users) call(t testing.TB, method, path, token string, body, out any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, u.Svc.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, raw
}

func (u *Users) login(t testing.TB, username, password string) string {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if status, raw := u.call(t, http.MethodPost, "/api/v1/users/login/", "", map[string]string{"username": username, "password": password}, &out); status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, status, raw)
	}
	return out.AccessToken
}
