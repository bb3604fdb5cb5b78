-- The reference could not create these on MariaDB (VARCHAR without a length);
-- this is the same logical schema with lengths, microsecond DATETIMEs and
-- InnoDB foreign keys. Every statement may be re-run (IF NOT EXISTS).
CREATE TABLE IF NOT EXISTS medications (
    id INTEGER NOT NULL AUTO_INCREMENT,
    name VARCHAR(255) NOT NULL,
    dosage VARCHAR(255) NOT NULL,
    frequency VARCHAR(255) NOT NULL,
    max_doses_per_day INTEGER NOT NULL,
    instructions TEXT,
    created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6),
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_medications_id ON medications (id);
CREATE TABLE IF NOT EXISTS doses (
    id INTEGER NOT NULL AUTO_INCREMENT,
    medication_id INTEGER,
    taken_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    CONSTRAINT doses_medication_id_fkey FOREIGN KEY (medication_id) REFERENCES medications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE INDEX IF NOT EXISTS ix_doses_id ON doses (id);
