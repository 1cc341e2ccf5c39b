-- What a user prefers (language of messages, the push device to reach) and
-- whether their email address is confirmed; links that confirm an address
-- (after registration, or before an email change takes effect).

-- +goose Up
ALTER TABLE users
    ADD COLUMN language       VARCHAR(2)   NOT NULL DEFAULT 'vi',
    ADD COLUMN push_token     VARCHAR(512) NULL,
    ADD COLUMN email_verified TINYINT(1)   NOT NULL DEFAULT 0,
    ADD COLUMN pending_email  VARCHAR(254) NULL,
    ADD CONSTRAINT ck_users_language CHECK (language IN ('vi', 'en'));

-- One row per link sent: purpose VERIFY confirms the address the account
-- has, CHANGE makes email the account's address. Only the SHA-256 of the
-- token is stored.
CREATE TABLE email_tokens (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash CHAR(64)     NOT NULL,
    user_id    BIGINT       NOT NULL,
    email      VARCHAR(254) NOT NULL,
    purpose    VARCHAR(8)   NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6)  NULL,
    UNIQUE KEY uq_email_tokens_hash (token_hash),
    KEY ix_email_tokens_user (user_id),
    KEY ix_email_tokens_expires (expires_at),
    CONSTRAINT fk_email_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE email_tokens;
ALTER TABLE users DROP CONSTRAINT ck_users_language, DROP COLUMN pending_email, DROP COLUMN email_verified,
    DROP COLUMN push_token, DROP COLUMN language;
