-- The reference's tables, in the text SQLAlchemy emitted for SQLite, so that
-- databases made here and by the reference look alike.
CREATE TABLE medications (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	dosage VARCHAR NOT NULL, 
	frequency VARCHAR NOT NULL, 
	max_doses_per_day INTEGER NOT NULL, 
	instructions VARCHAR, 
	created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	updated_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_medications_id ON medications (id);
CREATE TABLE doses (
	id INTEGER NOT NULL, 
	medication_id INTEGER, 
	taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	PRIMARY KEY (id), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE
);
CREATE INDEX ix_doses_id ON doses (id);
