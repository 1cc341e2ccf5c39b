-- +goose Up
-- A name is the user service's first and last names (150 characters each)
-- joined by a space: 301 characters. At 300, a booking for a user with the
-- longest names failed.
ALTER TABLE appointments
    MODIFY patient_name VARCHAR(301) NOT NULL DEFAULT '',
    MODIFY doctor_name  VARCHAR(301) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE appointments
    MODIFY patient_name VARCHAR(300) NOT NULL DEFAULT '',
    MODIFY doctor_name  VARCHAR(300) NOT NULL DEFAULT '';
