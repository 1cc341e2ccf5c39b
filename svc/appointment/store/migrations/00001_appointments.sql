-- +goose Up
-- Appointments (spec section 3). Times are UTC. active_slot equals
-- appointment_time while the appointment holds its slot (PENDING, CONFIRMED)
-- and is NULL otherwise; UNIQUE(doctor_id, active_slot) is what makes a
-- double booking impossible (NULLs never collide).
CREATE TABLE appointments (
    id               BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    patient_id       BIGINT      NOT NULL,
    doctor_id        BIGINT      NOT NULL,
    appointment_time DATETIME    NOT NULL,
    duration_minutes INT         NOT NULL DEFAULT 30,
    end_time         DATETIME    NOT NULL,
    status           VARCHAR(20) NOT NULL,
    reason_for_visit TEXT        NOT NULL,
    notes_doctor     TEXT        NOT NULL,
    patient_name     VARCHAR(300) NOT NULL DEFAULT '',
    doctor_name      VARCHAR(300) NOT NULL DEFAULT '',
    active_slot      DATETIME    NULL,
    reminder_sent_at DATETIME    NULL,
    created_at       DATETIME(6) NOT NULL,
    updated_at       DATETIME(6) NOT NULL,
    UNIQUE KEY uq_appointments_doctor_active_slot (doctor_id, active_slot),
    KEY ix_appointments_patient_time (patient_id, appointment_time),
    KEY ix_appointments_doctor_time (doctor_id, appointment_time),
    KEY ix_appointments_status_time (status, appointment_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A doctor's weekly schedule. Times are the clinic's wall-clock times
-- (CLINIC_TIMEZONE); day_of_week 0 = Monday ... 6 = Sunday. An entry with
-- is_available = 0 removes its hours (a day off) from the available ones.
CREATE TABLE doctor_schedules (
    id           BIGINT   NOT NULL AUTO_INCREMENT PRIMARY KEY,
    doctor_id    BIGINT   NOT NULL,
    day_of_week  TINYINT  NOT NULL,
    start_time   TIME     NOT NULL,
    end_time     TIME     NOT NULL,
    is_available BOOLEAN  NOT NULL DEFAULT TRUE,
    valid_from   DATE     NOT NULL,
    valid_to     DATE     NULL,
    created_at   DATETIME(6) NOT NULL,
    updated_at   DATETIME(6) NOT NULL,
    UNIQUE KEY uq_doctor_schedules_entry (doctor_id, day_of_week, start_time, valid_from),
    KEY ix_doctor_schedules_doctor (doctor_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The spec's TimeSlot ("created dynamically or stored if needed"): slots are
-- computed from the schedule on every request, so this table stays empty; it
-- exists so the schema matches the spec and can hold materialised slots later.
CREATE TABLE time_slots (
    id         BIGINT   NOT NULL AUTO_INCREMENT PRIMARY KEY,
    doctor_id  BIGINT   NOT NULL,
    start_time DATETIME NOT NULL,
    end_time   DATETIME NOT NULL,
    is_booked  BOOLEAN  NOT NULL DEFAULT FALSE,
    UNIQUE KEY uq_time_slots_doctor_start (doctor_id, start_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per doctor and per patient, locked (in key order) by every booking
-- so that the overlap checks of concurrent bookings run one after another.
CREATE TABLE booking_locks (
    lock_key VARCHAR(40) NOT NULL PRIMARY KEY
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE booking_locks;
DROP TABLE time_slots;
DROP TABLE doctor_schedules;
DROP TABLE appointments;
