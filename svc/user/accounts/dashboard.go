package accounts

import (
	"context"

	"hospital/lib/auth"
)

// DashboardFigures is what the user service contributes to the admin
// dashboard (lib/adminapi.DashboardPath("users")): users by role, active
// or not.
type DashboardFigures struct {
	UsersTotal              int `json:"users_total"`
	UsersActive             int `json:"users_active"`
	UsersInactive           int `json:"users_inactive"`
	ActivePatients          int `json:"active_patients"`
	ActiveDoctors           int `json:"active_doctors"`
	ActiveNurses            int `json:"active_nurses"`
	ActiveAdmins            int `json:"active_admins"`
	ActivePharmacists       int `json:"active_pharmacists"`
	ActiveInsuranceProvider int `json:"active_insurance_providers"`
	ActiveLabTechnicians    int `json:"active_lab_technicians"`
}

// Dashboard counts the users by role and activity.
func (s *Service) Dashboard(ctx context.Context) (DashboardFigures, error) {
	counts, err := s.store.CountByRole(ctx)
	if err != nil {
		return DashboardFigures{}, err
	}
	var f DashboardFigures
	for _, c := range counts {
		f.UsersActive += c.Active
		f.UsersInactive += c.Inactive
	}
	f.UsersTotal = f.UsersActive + f.UsersInactive
	f.ActivePatients = counts[auth.RolePatient].Active
	f.ActiveDoctors = counts[auth.RoleDoctor].Active
	f.ActiveNurses = counts[auth.RoleNurse].Active
	f.ActiveAdmins = counts[auth.RoleAdmin].Active
	f.ActivePharmacists = counts[auth.RolePharmacist].Active
	f.ActiveInsuranceProvider = counts[auth.RoleInsuranceProvider].Active
	f.ActiveLabTechnicians = counts[auth.RoleLabTechnician].Active
	return f, nil
}
