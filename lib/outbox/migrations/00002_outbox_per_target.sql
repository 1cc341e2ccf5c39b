-- +goose Up
-- Claims are made per target service (no head-of-line blocking), and a
-- target that recovers gets the messages it missed retried at once: those
-- last attempted before it recovered.
ALTER TABLE outbox_messages
    ADD COLUMN last_attempt_at DATETIME(6) NULL AFTER attempts,
    ADD KEY ix_outbox_target_due (status, target_service, next_attempt_at),
    DROP KEY ix_outbox_due;

-- +goose Down
ALTER TABLE outbox_messages
    ADD KEY ix_outbox_due (status, next_attempt_at),
    DROP KEY ix_outbox_target_due,
    DROP COLUMN last_attempt_at;
