-- Columns are added in place (every new column has a constant default or
-- allows NULL, so no table is rewritten and no row changes meaning: a
-- medication's window is calendar_day, the reference's rule, and every dose
-- is taken). Transactional: all of it or nothing.
ALTER TABLE medications
    ADD COLUMN IF NOT EXISTS limit_window VARCHAR(16) NOT NULL DEFAULT 'calendar_day'
        CONSTRAINT medications_limit_window_check
        CHECK (limit_window IN ('calendar_day', 'rolling_24h')),
    ADD COLUMN IF NOT EXISTS min_interval_minutes INTEGER
        CONSTRAINT medications_min_interval_minutes_check
        CHECK (min_interval_minutes IS NULL OR min_interval_minutes BETWEEN 1 AND 10080),
    ADD COLUMN IF NOT EXISTS dose_amount NUMERIC(12, 3),
    ADD COLUMN IF NOT EXISTS dose_unit VARCHAR(32);
ALTER TABLE doses
    ADD COLUMN IF NOT EXISTS status VARCHAR(16) NOT NULL DEFAULT 'taken'
        CONSTRAINT doses_status_check
        CHECK (status IN ('taken', 'skipped', 'entered_in_error')),
    ADD COLUMN IF NOT EXISTS status_reason VARCHAR,
    ADD COLUMN IF NOT EXISTS note VARCHAR,
    ADD COLUMN IF NOT EXISTS recorded_by VARCHAR(255),
    ADD COLUMN IF NOT EXISTS recorded_by_id INTEGER,
    ADD COLUMN IF NOT EXISTS recorded_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN IF NOT EXISTS override_rule VARCHAR(64),
    ADD COLUMN IF NOT EXISTS override_reason VARCHAR,
    ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP WITH TIME ZONE;
-- The rule checks count a medication's taken doses of a window; doses
-- entered in error stay in the table, so the status is part of the key.
CREATE INDEX IF NOT EXISTS ix_doses_medication_id_status_taken_at
    ON doses (medication_id, status, taken_at);
CREATE TABLE IF NOT EXISTS medication_ingredients (
    medication_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    amount NUMERIC(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    CONSTRAINT medication_ingredients_pkey PRIMARY KEY (medication_id, name_key),
    CONSTRAINT medication_ingredients_medication_id_fkey FOREIGN KEY (medication_id)
        REFERENCES medications (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ingredient_limits (
    id SERIAL NOT NULL,
    person_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    max_per_24h NUMERIC(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT ingredient_limits_pkey PRIMARY KEY (id),
    CONSTRAINT ingredient_limits_person_id_name_key_key UNIQUE (person_id, name_key),
    CONSTRAINT ingredient_limits_person_id_fkey FOREIGN KEY (person_id)
        REFERENCES persons (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS dose_ingredients (
    dose_id INTEGER NOT NULL,
    name_key VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    amount NUMERIC(12, 3) NOT NULL,
    unit VARCHAR(32) NOT NULL,
    CONSTRAINT dose_ingredients_pkey PRIMARY KEY (dose_id, name_key),
    CONSTRAINT dose_ingredients_dose_id_fkey FOREIGN KEY (dose_id)
        REFERENCES doses (id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner VARCHAR(80) NOT NULL,
    idem_key VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(64) NOT NULL,
    status INTEGER,
    response TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner, idem_key)
);
CREATE INDEX IF NOT EXISTS ix_idempotency_keys_created_at ON idempotency_keys (created_at);
-- The audit trail refers to nothing (no foreign keys): its rows must outlive
-- the persons, medications, doses and accounts they describe.
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    actor VARCHAR(255) NOT NULL,
    actor_id INTEGER,
    action VARCHAR(32) NOT NULL,
    entity VARCHAR(32) NOT NULL,
    entity_id BIGINT,
    person_id INTEGER,
    before_json TEXT,
    after_json TEXT,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (seq)
);
-- No secondary index: every change appends a row, and each index would be
-- one more page written in the change's transaction (measured with
-- bench/api-load.sh, docs/audit.md); listings walk the trail newest first.
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    hash VARCHAR(64) NOT NULL,
    CONSTRAINT audit_head_pkey PRIMARY KEY (id)
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')
ON CONFLICT (id) DO NOTHING;
