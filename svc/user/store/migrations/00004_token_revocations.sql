-- Revocations waiting to be published to Consul KV, where every service's
-- token check reads them (lib/auth). Written in the same transaction as the
-- change that revokes (logout, password change, deactivation...), so a
-- Consul outage delays a revocation but never loses it. One row per user or
-- session: a later revocation raises revoked_at and publishes again.

-- +goose Up
CREATE TABLE token_revocations (
    kind         VARCHAR(16)  NOT NULL,
    subject      VARCHAR(64)  NOT NULL,
    revoked_at   DATETIME(3)  NOT NULL,
    published_at DATETIME(3)  NULL,
    PRIMARY KEY (kind, subject),
    KEY ix_token_revocations_published (published_at),
    KEY ix_token_revocations_revoked (revoked_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- +goose Down
DROP TABLE token_revocations;
