-- +goose Up
-- The platform's audit log: one row per event, append-only, hash-chained.
-- position is the place in the chain (1, 2, ...), assigned while the chain
-- head below is locked; prev_hash is the hash of the entry before it
-- (64 zeros for the first), hash covers prev_hash and every column of the
-- row (oversight/chain.go). details is the canonical JSON exactly as it
-- was hashed. Times are UTC.
CREATE TABLE audit_log (
    position         BIGINT       NOT NULL PRIMARY KEY,
    event_id         VARCHAR(64)  NOT NULL,
    event_time       DATETIME(6)  NOT NULL,
    service_name     VARCHAR(50)  NOT NULL,
    action_performed VARCHAR(100) NOT NULL,
    user_id          BIGINT       NULL,
    role             VARCHAR(30)  NOT NULL DEFAULT '',
    actor_service    VARCHAR(50)  NOT NULL DEFAULT '',
    patient_id       BIGINT       NULL,
    object_type      VARCHAR(50)  NOT NULL DEFAULT '',
    object_id        VARCHAR(100) NOT NULL DEFAULT '',
    outcome          VARCHAR(10)  NOT NULL,
    request_id       VARCHAR(100) NOT NULL DEFAULT '',
    client_ip        VARCHAR(64)  NOT NULL DEFAULT '',
    break_glass      BOOLEAN      NOT NULL DEFAULT FALSE,
    details          MEDIUMTEXT   NOT NULL,
    received_at      DATETIME(6)  NOT NULL,
    prev_hash        CHAR(64)     NOT NULL,
    hash             CHAR(64)     NOT NULL,
    UNIQUE KEY uq_audit_log_event (event_id),
    KEY ix_audit_log_time (event_time),
    KEY ix_audit_log_patient_time (patient_id, event_time),
    KEY ix_audit_log_user_time (user_id, event_time),
    KEY ix_audit_log_service_time (service_name, event_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The head of the chain: its last position and hash. Every append locks
-- this one row, so appends from any number of requests and instances form
-- one chain; a verification compares it with the last entry (a deleted
-- tail is detected).
CREATE TABLE audit_chain (
    id            TINYINT     NOT NULL PRIMARY KEY,
    last_position BIGINT      NOT NULL,
    last_hash     CHAR(64)    NOT NULL,
    updated_at    DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO audit_chain (id, last_position, last_hash, updated_at)
VALUES (1, 0, REPEAT('0', 64), UTC_TIMESTAMP(6));

-- Append-only in the database too: changing or removing an entry takes
-- dropping these triggers first (the hash chain detects it either way).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';

-- The spec's SystemConfiguration: key (unique), value (JSON), description.
-- version counts the changes of one key; it travels with the value to
-- Consul KV, where a later version always wins.
CREATE TABLE system_configurations (
    config_key  VARCHAR(100) NOT NULL PRIMARY KEY,
    value       MEDIUMTEXT   NOT NULL,
    description TEXT         NOT NULL,
    version     BIGINT       NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    updated_by  BIGINT       NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Batch tasks (recalculate-reports). active_key is the task type while the
-- task is PENDING or RUNNING and NULL after: its unique key admits one
-- active task of a type, so a second trigger joins the first.
CREATE TABLE tasks (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    task_type      VARCHAR(50)  NOT NULL,
    status         VARCHAR(20)  NOT NULL,
    active_key     VARCHAR(50)  NULL,
    params         TEXT         NOT NULL,
    progress_done  INT          NOT NULL DEFAULT 0,
    progress_total INT          NOT NULL DEFAULT 0,
    result         TEXT         NULL,
    error          TEXT         NULL,
    requested_by   BIGINT       NULL,
    runner         VARCHAR(200) NOT NULL DEFAULT '',
    runs           INT          NOT NULL DEFAULT 0,
    created_at     DATETIME(6)  NOT NULL,
    started_at     DATETIME(6)  NULL,
    finished_at    DATETIME(6)  NULL,
    UNIQUE KEY uq_tasks_active (active_key),
    KEY ix_tasks_status (status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The reports: per clinic day and service, what the audit log recorded
-- (oversight/reports.go). Recomputed from the log, so a recalculation of a
-- day replaces its rows.
CREATE TABLE daily_activity (
    day          DATE        NOT NULL,
    service_name VARCHAR(50) NOT NULL,
    events       INT         NOT NULL,
    patient_reads INT        NOT NULL,
    denied       INT         NOT NULL,
    failed       INT         NOT NULL,
    break_glass  INT         NOT NULL,
    patients     INT         NOT NULL,
    users        INT         NOT NULL,
    computed_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (day, service_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE daily_activity;
DROP TABLE tasks;
DROP TABLE system_configurations;
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_chain;
DROP TABLE audit_log;
