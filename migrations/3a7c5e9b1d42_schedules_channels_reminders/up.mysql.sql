-- MariaDB commits DDL statement by statement, so every statement may be
-- re-run after an interruption (IF NOT EXISTS). The new column allows NULL
-- (the server's zone): no row changes meaning.
ALTER TABLE persons ADD COLUMN IF NOT EXISTS timezone VARCHAR(64);
CREATE TABLE IF NOT EXISTS medication_schedules (
    medication_id INTEGER NOT NULL,
    times VARCHAR(200) NOT NULL,
    days VARCHAR(40) NOT NULL,
    start_date DATE NULL,
    end_date DATE NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (medication_id),
    CONSTRAINT medication_schedules_medication_id_fkey FOREIGN KEY (medication_id)
        REFERENCES medications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS calendar_tokens (
    person_id INTEGER NOT NULL,
    token_hash CHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (person_id),
    UNIQUE KEY uq_calendar_tokens_token_hash (token_hash),
    CONSTRAINT calendar_tokens_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS reminder_settings (
    person_id INTEGER NOT NULL,
    repeat_minutes INTEGER NULL,
    max_repeats INTEGER NOT NULL DEFAULT 0,
    quiet_start VARCHAR(5) NULL,
    quiet_end VARCHAR(5) NULL,
    escalate_after_minutes INTEGER NULL,
    updated_at DATETIME(6) NOT NULL,
    PRIMARY KEY (person_id),
    CONSTRAINT reminder_settings_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS notification_channels (
    id INTEGER NOT NULL AUTO_INCREMENT,
    person_id INTEGER NULL,
    account_id INTEGER NULL,
    type VARCHAR(16) NOT NULL,
    url VARCHAR(2000) NULL,
    email_to VARCHAR(320) NULL,
    secret_sealed TEXT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT ck_notification_channels_type
        CHECK (type IN ('ntfy', 'gotify', 'webhook', 'email')),
    CONSTRAINT ck_notification_channels_owner
        CHECK ((person_id IS NULL) <> (account_id IS NULL)),
    CONSTRAINT notification_channels_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE,
    CONSTRAINT notification_channels_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_notification_channels_person_id
    ON notification_channels (person_id);
CREATE INDEX IF NOT EXISTS ix_notification_channels_account_id
    ON notification_channels (account_id);
CREATE TABLE IF NOT EXISTS reminder_slots (
    id INTEGER NOT NULL AUTO_INCREMENT,
    person_id INTEGER NOT NULL,
    medication_id INTEGER NOT NULL,
    slot_at DATETIME(6) NOT NULL,
    state VARCHAR(16) NOT NULL DEFAULT 'open',
    snoozed_until DATETIME(6) NULL,
    repeats_sent INTEGER NOT NULL DEFAULT 0,
    escalated BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY uq_reminder_slots_medication_id_slot_at (medication_id, slot_at),
    CONSTRAINT ck_reminder_slots_state
        CHECK (state IN ('open', 'done', 'skipped', 'snoozed', 'missed')),
    CONSTRAINT reminder_slots_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE,
    CONSTRAINT reminder_slots_medication_id_fkey FOREIGN KEY (medication_id)
        REFERENCES medications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_reminder_slots_person_id_slot_at
    ON reminder_slots (person_id, slot_at);
CREATE INDEX IF NOT EXISTS ix_reminder_slots_state_slot_at ON reminder_slots (state, slot_at);
CREATE TABLE IF NOT EXISTS notification_deliveries (
    id INTEGER NOT NULL AUTO_INCREMENT,
    slot_id INTEGER NULL,
    channel_id INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    status VARCHAR(16) NOT NULL DEFAULT 'pending',
    due_at DATETIME(6) NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    lease_owner VARCHAR(64) NULL,
    lease_until DATETIME(6) NULL,
    sent_at DATETIME(6) NULL,
    last_error VARCHAR(500) NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_notification_deliveries_slot_channel_kind_seq
        UNIQUE (slot_id, channel_id, kind, seq),
    CONSTRAINT ck_notification_deliveries_kind
        CHECK (kind IN ('reminder', 'repeat', 'escalation', 'test')),
    CONSTRAINT ck_notification_deliveries_status
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'missed')),
    CONSTRAINT notification_deliveries_slot_id_fkey FOREIGN KEY (slot_id)
        REFERENCES reminder_slots (id) ON DELETE CASCADE,
    CONSTRAINT notification_deliveries_channel_id_fkey FOREIGN KEY (channel_id)
        REFERENCES notification_channels (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_notification_deliveries_status_next_attempt_at
    ON notification_deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS ix_notification_deliveries_channel_id
    ON notification_deliveries (channel_id);
