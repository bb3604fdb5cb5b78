-- doses refers to medications, so it is set aside before medications is
-- replaced; no ON DELETE action can fire.
CREATE TABLE _mt_stash_doses (id, medication_id, medication_name, taken_at);
INSERT INTO _mt_stash_doses SELECT id, medication_id, medication_name, taken_at FROM doses;
DROP TABLE doses;
CREATE TABLE _mt_new_medications (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	dosage VARCHAR NOT NULL, 
	frequency VARCHAR NOT NULL, 
	max_doses_per_day INTEGER NOT NULL, 
	instructions VARCHAR, 
	created_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	updated_at DATETIME, 
	person_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
INSERT INTO _mt_new_medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id)
SELECT id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id FROM medications;
DROP TABLE medications;
ALTER TABLE _mt_new_medications RENAME TO medications;
CREATE INDEX ix_medications_id ON medications (id);
CREATE INDEX ix_medications_person_id ON medications (person_id);
CREATE TABLE doses (
	id INTEGER NOT NULL, 
	medication_id INTEGER, 
	medication_name VARCHAR, 
	taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	PRIMARY KEY (id), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE SET NULL
);
INSERT INTO doses (id, medication_id, medication_name, taken_at)
SELECT id, medication_id, medication_name, taken_at FROM _mt_stash_doses;
DROP TABLE _mt_stash_doses;
CREATE INDEX ix_doses_id ON doses (id);
CREATE INDEX ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
-- persons made by the reference's create_all had no index on id.
CREATE INDEX IF NOT EXISTS ix_persons_id ON persons (id);
