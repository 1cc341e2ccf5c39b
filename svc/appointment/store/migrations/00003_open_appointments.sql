-- +goose Up
-- Counting a patient's open appointments (the booking limit) reads only
-- their active slots.
CREATE INDEX ix_appointments_patient_active ON appointments (patient_id, active_slot);

-- +goose Down
DROP INDEX ix_appointments_patient_active ON appointments;
