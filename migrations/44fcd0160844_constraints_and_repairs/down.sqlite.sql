-- Back to the d9c3da4e9c05 tables; repairs are not undone.
CREATE TABLE _mt_stash_doses (id, medication_id, medication_name, taken_at);
INSERT INTO _mt_stash_doses SELECT id, medication_id, medication_name, taken_at FROM doses;
DROP TABLE doses;
CREATE TABLE _mt_old_medications (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	dosage VARCHAR NOT NULL, 
	frequency VARCHAR NOT NULL, 
	max_doses_per_day INTEGER NOT NULL, 
	instructions VARCHAR, 
	created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	updated_at DATETIME, person_id INTEGER DEFAULT '1' NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO _mt_old_medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id)
SELECT id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id FROM medications;
DROP TABLE medications;
ALTER TABLE _mt_old_medications RENAME TO medications;
CREATE INDEX ix_medications_id ON medications (id);
CREATE TABLE doses (
            id INTEGER PRIMARY KEY,
            medication_id INTEGER REFERENCES medications(id) ON DELETE SET NULL,
            medication_name TEXT,
            taken_at TIMESTAMP
        );
INSERT INTO doses (id, medication_id, medication_name, taken_at)
SELECT id, medication_id, medication_name, taken_at FROM _mt_stash_doses;
DROP TABLE _mt_stash_doses;
CREATE INDEX ix_doses_id ON doses (id);
