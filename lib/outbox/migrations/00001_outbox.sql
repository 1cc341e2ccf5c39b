-- +goose Up
CREATE TABLE outbox_messages (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    idempotency_key VARCHAR(200)    NOT NULL,
    target_service  VARCHAR(64)     NOT NULL,
    method          VARCHAR(10)     NOT NULL,
    path            VARCHAR(500)    NOT NULL,
    body            LONGBLOB        NOT NULL,
    status          VARCHAR(16)     NOT NULL DEFAULT 'PENDING',
    attempts        INT             NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)     NOT NULL,
    lease_owner     VARCHAR(64)     NULL,
    lease_until     DATETIME(6)     NULL,
    last_error      VARCHAR(1000)   NULL,
    last_status     INT             NULL,
    created_at      DATETIME(6)     NOT NULL,
    delivered_at    DATETIME(6)     NULL,
    request_id      VARCHAR(128)    NULL,
    UNIQUE KEY uq_outbox_key (idempotency_key),
    KEY ix_outbox_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE outbox_messages;
