-- +goose Up
CREATE TABLE idempotency_keys (
    scope         VARCHAR(100)  NOT NULL,
    idem_key      VARCHAR(200)  NOT NULL,
    request_hash  CHAR(64)      NOT NULL,
    status_code   INT           NULL,
    response_body LONGBLOB      NULL,
    created_at    DATETIME(6)   NOT NULL,
    PRIMARY KEY (scope, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE idempotency_keys;
