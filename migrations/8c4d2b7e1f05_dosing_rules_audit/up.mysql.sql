-- MariaDB commits DDL statement by statement, so every statement may be
-- re-run after an interruption (IF NOT EXISTS, INSERT IGNORE). Every new
-- column has a default or allows NULL: no row changes meaning (a
-- medication's window is calendar_day, the reference's rule, and every dose
-- is taken).
ALTER TABLE medications
    ADD COLUMN IF NOT EXISTS limit_window VARCHAR(16) NOT NULL DEFAULT 'calendar_day'
        CHECK (limit_window IN ('calendar_day', 'rolling_24h')),
    ADD COLUMN IF NOT EXISTS min_interval_minutes INTEGER NULL
        CHECK (min_interval_minutes IS NULL OR min_interval_minutes BETWEEN 1 AND 10080),
    ADD COLUMN IF NOT EXISTS dose_amount DECIMAL(12, 3) NULL,
    ADD COLUMN IF NOT EXISTS dose_unit VARCHAR(32) NULL;
ALTER TABLE doses
    ADD COLUMN IF NOT EXISTS status VARCHAR(16) NOT NULL DEFAULT 'taken'
        CHECK (status IN ('taken', 'skipped', 'entered_in_error')),
    ADD COLUMN IF NOT EXISTS status_reason TEXT NULL,
    ADD COLUMN IF NOT EXISTS note TEXT NULL,
    ADD COLUMN IF NOT EXISTS recorded_by VARCHAR(255) NULL,
    ADD COLUMN IF NOT EXISTS recorded_by_id INTEGER NULL,
    ADD COLUMN IF NOT EXISTS recorded_at DATETIME(6) NULL,
    ADD COLUMN IF NOT EXISTS override_rule VARCHAR(64) NULL,
    ADD COLUMN IF NOT EXISTS override_reason TEXT NULL,
    ADD COLUMN IF NOT EXISTS updated_at DATETIME(6) NULL;
-- The rule checks count a medication's taken doses of a window; doses
-- entered in error stay in the table, so the status is part of the key.
CREATE INDEX IF NOT EXISTS ix_doses_medication_id_status_taken_at
    ON doses (medication_id, status, taken_at);
CREATE TABLE IF NOT EXISTS medication_ingredients (
    medication_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    amount DECIMAL(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    PRIMARY KEY (medication_id, name_key),
    CONSTRAINT medication_ingredients_medication_id_fkey FOREIGN KEY (medication_id)
        REFERENCES medications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS ingredient_limits (
    id INTEGER NOT NULL AUTO_INCREMENT,
    person_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    max_per_24h DECIMAL(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6),
    PRIMARY KEY (id),
    UNIQUE KEY ingredient_limits_person_id_name_key_key (person_id, name_key),
    CONSTRAINT ingredient_limits_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS dose_ingredients (
    dose_id INTEGER NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    amount DECIMAL(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    PRIMARY KEY (dose_id, name_key),
    CONSTRAINT dose_ingredients_dose_id_fkey FOREIGN KEY (dose_id)
        REFERENCES doses (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner VARCHAR(80) NOT NULL,
    idem_key VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(64) NOT NULL,
    status INTEGER NULL,
    response MEDIUMTEXT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (owner, idem_key),
    KEY ix_idempotency_keys_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- The audit trail refers to nothing (no foreign keys): its rows must outlive
-- the persons, medications, doses and accounts they describe. No secondary
-- index: every change appends a row, and each index would be one more page
-- written in the change's transaction; listings walk the trail newest first.
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    actor VARCHAR(255) NOT NULL,
    actor_id INTEGER NULL,
    action VARCHAR(32) NOT NULL,
    entity VARCHAR(32) NOT NULL,
    entity_id BIGINT NULL,
    person_id INTEGER NULL,
    before_json MEDIUMTEXT NULL,
    after_json MEDIUMTEXT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    PRIMARY KEY (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    hash VARCHAR(64) NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
