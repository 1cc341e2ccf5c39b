-- Sex and date of birth, both optional: the Laboratory service computes
-- reference ranges from them.

-- +goose Up
ALTER TABLE users
    ADD COLUMN sex           CHAR(1) NULL,
    ADD COLUMN date_of_birth DATE    NULL,
    ADD CONSTRAINT ck_users_sex CHECK (sex IN ('M', 'F'));

-- +goose Down
ALTER TABLE users DROP CONSTRAINT ck_users_sex, DROP COLUMN date_of_birth, DROP COLUMN sex;
