-- The spec's four models (User, Role, Permission, RolePermission) with the
-- columns, lengths and constraints of the Django definitions, plus the tables
-- the authentication flows need: refresh tokens, password reset tokens and
-- login failures. Runs on MySQL 8 and MariaDB 10.11.

-- +goose Up
CREATE TABLE roles (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(50)  NOT NULL,
    description LONGTEXT     NOT NULL,
    UNIQUE KEY uq_roles_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE permissions (
    id       BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    codename VARCHAR(100) NOT NULL,
    name     VARCHAR(255) NOT NULL,
    UNIQUE KEY uq_permissions_codename (codename)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE role_permissions (
    id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    role_id       BIGINT NOT NULL,
    permission_id BIGINT NOT NULL,
    UNIQUE KEY uq_role_permissions (role_id, permission_id),
    KEY ix_role_permissions_permission (permission_id),
    CONSTRAINT fk_role_permissions_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT fk_role_permissions_permission FOREIGN KEY (permission_id) REFERENCES permissions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- users.password holds an argon2id PHC string (about 97 characters).
-- phone_number is NULL when blank, so many users may have none.
CREATE TABLE users (
    id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username            VARCHAR(150) NOT NULL,
    password            VARCHAR(128) NOT NULL,
    email               VARCHAR(254) NOT NULL,
    phone_number        VARCHAR(20)  NULL,
    first_name          VARCHAR(150) NOT NULL DEFAULT '',
    last_name           VARCHAR(150) NOT NULL DEFAULT '',
    role_id             BIGINT       NOT NULL,
    is_active           TINYINT(1)   NOT NULL DEFAULT 1,
    is_staff            TINYINT(1)   NOT NULL DEFAULT 0,
    date_joined         DATETIME(6)  NOT NULL,
    profile_picture_url VARCHAR(500) NULL,
    UNIQUE KEY uq_users_username (username),
    UNIQUE KEY uq_users_email (email),
    UNIQUE KEY uq_users_phone_number (phone_number),
    KEY ix_users_role (role_id),
    CONSTRAINT fk_users_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens are opaque random strings; only their SHA-256 is stored.
-- A login starts a family; each refresh marks the presented token used and
-- issues the next one in the same family. Presenting a used token again
-- means it was stolen, and the whole family is revoked.
CREATE TABLE refresh_tokens (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash CHAR(64)    NOT NULL,
    family_id  CHAR(32)    NOT NULL,
    user_id    BIGINT      NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6) NULL,
    revoked_at DATETIME(6) NULL,
    UNIQUE KEY uq_refresh_tokens_hash (token_hash),
    KEY ix_refresh_tokens_family (family_id),
    KEY ix_refresh_tokens_user (user_id),
    KEY ix_refresh_tokens_expires (expires_at),
    CONSTRAINT fk_refresh_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Password reset tokens: random, stored as SHA-256, single use, short-lived.
CREATE TABLE password_reset_tokens (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash CHAR(64)    NOT NULL,
    user_id    BIGINT      NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6) NULL,
    UNIQUE KEY uq_password_reset_tokens_hash (token_hash),
    KEY ix_password_reset_tokens_user (user_id),
    KEY ix_password_reset_tokens_expires (expires_at),
    CONSTRAINT fk_password_reset_tokens_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Failed logins per (case-folded) username, whether or not the account
-- exists, so the lockout answer does not reveal which usernames are real.
CREATE TABLE login_failures (
    username     VARCHAR(150) NOT NULL PRIMARY KEY,
    failures     INT          NOT NULL DEFAULT 0,
    window_start DATETIME(6)  NOT NULL,
    locked_until DATETIME(6)  NULL,
    KEY ix_login_failures_window (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE login_failures;
DROP TABLE password_reset_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
