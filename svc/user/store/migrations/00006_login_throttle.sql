-- Failed sign-ins counted three ways, so that one source cannot lock an
-- owner out and many sources are still slowed:
--   pair    (account, client): this client's failures on this account;
--   client  (client): this client's failures on any account;
--   account (account): everyone's failures on this account.
-- account is the case-folded username ("svc:<name>" for service
-- credentials), client the caller's address (IPv6 grouped by /64). A
-- counter starts over after a quiet window without failures.

-- +goose Up
DROP TABLE login_failures;

CREATE TABLE login_throttle (
    scope         VARCHAR(8)   NOT NULL,
    account       VARCHAR(160) NOT NULL DEFAULT '',
    client        VARCHAR(64)  NOT NULL DEFAULT '',
    failures      INT          NOT NULL DEFAULT 0,
    last_failure  DATETIME(6)  NULL,
    blocked_until DATETIME(6)  NULL,
    PRIMARY KEY (scope, account, client),
    KEY ix_login_throttle_account (account),
    KEY ix_login_throttle_last (last_failure)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE login_throttle;
CREATE TABLE login_failures (
    username     VARCHAR(150) NOT NULL PRIMARY KEY,
    failures     INT          NOT NULL DEFAULT 0,
    window_start DATETIME(6)  NOT NULL,
    locked_until DATETIME(6)  NULL,
    KEY ix_login_failures_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
