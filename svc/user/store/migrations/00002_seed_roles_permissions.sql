-- The seven roles of the spec and the permissions each one holds. Services
-- authorize on the role in the token; the permission table documents, per
-- role, what those checks allow, and is what an ADMIN screen shows.

-- +goose Up
INSERT INTO roles (name, description) VALUES
    ('PATIENT', 'Registers on their own; sees and manages only their own appointments, records, prescriptions, lab results and invoices.'),
    ('DOCTOR', 'Manages their schedule and appointments, examines patients, records encounters and diagnoses, prescribes and orders lab tests.'),
    ('NURSE', 'Supports doctors: sees appointments and medical records, records vital signs.'),
    ('ADMIN', 'Runs the hospital system: manages users and staff accounts, configuration, dashboards and audit logs.'),
    ('PHARMACIST', 'Reviews prescriptions, dispenses medication and manages the medication stock.'),
    ('INSURANCE_PROVIDER', 'Reviews and decides insurance claims for the policies it covers.'),
    ('LAB_TECHNICIAN', 'Works through lab orders and records their results.');

INSERT INTO permissions (codename, name) VALUES
    ('can_view_own_profile', 'Can view and update own profile'),
    ('can_view_users', 'Can view user accounts'),
    ('can_manage_users', 'Can create, activate and deactivate user accounts'),
    ('can_create_appointment', 'Can book an appointment'),
    ('can_view_own_appointments', 'Can view own appointments'),
    ('can_cancel_own_appointment', 'Can cancel own appointment'),
    ('can_view_doctor_appointments', 'Can view doctors'' appointments'),
    ('can_confirm_appointment', 'Can confirm an appointment'),
    ('can_complete_appointment', 'Can mark an appointment completed'),
    ('can_update_appointment', 'Can update appointment notes'),
    ('can_manage_doctor_schedule', 'Can manage doctor schedules'),
    ('can_view_own_medical_record', 'Can view own medical record'),
    ('can_view_medical_records', 'Can view patients'' medical records'),
    ('can_create_encounter', 'Can create an encounter'),
    ('can_update_encounter', 'Can update an encounter'),
    ('can_add_diagnosis', 'Can add or update a diagnosis'),
    ('can_add_vital_signs', 'Can record vital signs'),
    ('can_view_own_prescriptions', 'Can view own prescriptions'),
    ('can_view_prescriptions', 'Can view prescriptions'),
    ('can_create_prescription', 'Can issue a prescription'),
    ('can_dispense_medication', 'Can dispense medication'),
    ('can_manage_medication_stock', 'Can manage the medication catalog and stock'),
    ('can_view_own_lab_results', 'Can view own lab results'),
    ('can_create_lab_order', 'Can order lab tests'),
    ('can_view_lab_orders', 'Can view lab orders'),
    ('can_record_lab_result', 'Can record lab results'),
    ('can_manage_lab_tests', 'Can manage the lab test catalog'),
    ('can_view_own_invoices', 'Can view own invoices'),
    ('can_pay_invoice', 'Can pay an invoice'),
    ('can_manage_invoices', 'Can create and adjust invoices'),
    ('can_view_insurance_claims', 'Can view insurance claims'),
    ('can_submit_insurance_claim', 'Can submit an insurance claim'),
    ('can_process_insurance_claim', 'Can approve or reject an insurance claim'),
    ('can_manage_notification_templates', 'Can manage notification templates'),
    ('can_view_dashboard', 'Can view the admin dashboard'),
    ('can_manage_system_config', 'Can change system configuration'),
    ('can_view_audit_log', 'Can view the audit log');

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id FROM roles r JOIN permissions p ON
    (r.name = 'PATIENT' AND p.codename IN (
        'can_view_own_profile', 'can_create_appointment', 'can_view_own_appointments',
        'can_cancel_own_appointment', 'can_view_own_medical_record', 'can_view_own_prescriptions',
        'can_view_own_lab_results', 'can_view_own_invoices', 'can_pay_invoice',
        'can_submit_insurance_claim'))
 OR (r.name = 'DOCTOR' AND p.codename IN (
        'can_view_own_profile', 'can_view_doctor_appointments', 'can_confirm_appointment',
        'can_complete_appointment', 'can_update_appointment', 'can_manage_doctor_schedule',
        'can_view_medical_records', 'can_create_encounter', 'can_update_encounter',
        'can_add_diagnosis', 'can_add_vital_signs', 'can_view_prescriptions',
        'can_create_prescription', 'can_create_lab_order', 'can_view_lab_orders'))
 OR (r.name = 'NURSE' AND p.codename IN (
        'can_view_own_profile', 'can_view_doctor_appointments', 'can_view_medical_records',
        'can_add_vital_signs', 'can_view_prescriptions', 'can_view_lab_orders'))
 OR (r.name = 'PHARMACIST' AND p.codename IN (
        'can_view_own_profile', 'can_view_prescriptions', 'can_dispense_medication',
        'can_manage_medication_stock'))
 OR (r.name = 'LAB_TECHNICIAN' AND p.codename IN (
        'can_view_own_profile', 'can_view_lab_orders', 'can_record_lab_result',
        'can_manage_lab_tests'))
 OR (r.name = 'INSURANCE_PROVIDER' AND p.codename IN (
        'can_view_own_profile', 'can_view_insurance_claims', 'can_process_insurance_claim'))
 OR r.name = 'ADMIN';

-- +goose Down
DELETE FROM role_permissions;
DELETE FROM permissions;
DELETE FROM roles;
