-- persons is rebuilt. Its children are set aside first and rebuilt after it,
-- so that dropping persons can fire no ON DELETE action, whatever foreign
-- keys an older create_all gave them.
CREATE TABLE _mt_stash_doses (id, medication_id, medication_name, taken_at);
INSERT INTO _mt_stash_doses SELECT id, medication_id, medication_name, taken_at FROM doses;
CREATE TABLE _mt_stash_medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id);
INSERT INTO _mt_stash_medications SELECT id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id FROM medications;
DROP TABLE doses;
DROP TABLE medications;
CREATE TABLE _mt_old_persons (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	date_of_birth DATE, 
	notes VARCHAR, 
	is_default BOOLEAN NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP, 
	updated_at DATETIME, 
	PRIMARY KEY (id)
);
INSERT INTO _mt_old_persons (id, name, date_of_birth, notes, is_default, created_at, updated_at)
SELECT id, CASE WHEN last_name IS NULL OR last_name = '' THEN first_name
                ELSE first_name || ' ' || last_name END,
       date_of_birth, notes, is_default, created_at, updated_at FROM persons;
DROP TABLE persons;
ALTER TABLE _mt_old_persons RENAME TO persons;
CREATE INDEX ix_persons_id ON persons (id);
CREATE TABLE medications (
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
INSERT INTO medications (id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id)
SELECT id, name, dosage, frequency, max_doses_per_day, instructions, created_at, updated_at, person_id FROM _mt_stash_medications;
CREATE INDEX ix_medications_id ON medications (id);
CREATE TABLE doses (
            id INTEGER PRIMARY KEY,
            medication_id INTEGER REFERENCES medications(id) ON DELETE SET NULL,
            medication_name TEXT,
            taken_at TIMESTAMP
        );
INSERT INTO doses (id, medication_id, medication_name, taken_at)
SELECT id, medication_id, medication_name, taken_at FROM _mt_stash_doses;
CREATE INDEX ix_doses_id ON doses (id);
DROP TABLE _mt_stash_medications;
DROP TABLE _mt_stash_doses;
