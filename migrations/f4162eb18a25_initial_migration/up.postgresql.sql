-- SERIAL ids as SQLAlchemy created them (integer + owned sequence).
CREATE TABLE medications (
    id SERIAL NOT NULL,
    name VARCHAR NOT NULL,
    dosage VARCHAR NOT NULL,
    frequency VARCHAR NOT NULL,
    max_doses_per_day INTEGER NOT NULL,
    instructions VARCHAR,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
);
CREATE INDEX ix_medications_id ON medications (id);
CREATE TABLE doses (
    id SERIAL NOT NULL,
    medication_id INTEGER,
    taken_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (id),
    FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE
);
CREATE INDEX ix_doses_id ON doses (id);
