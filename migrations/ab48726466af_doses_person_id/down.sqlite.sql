-- Back to the doses of 2574915efc76: person_id is dropped (doses of deleted
-- medications lose whose they were; upgrading again refills person_id only
-- for doses whose medication still exists).
CREATE TABLE _mt_old_doses (
	id INTEGER NOT NULL, 
	medication_id INTEGER, 
	medication_name VARCHAR, 
	taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	PRIMARY KEY (id), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE SET NULL
);
INSERT INTO _mt_old_doses (id, medication_id, medication_name, taken_at)
SELECT id, medication_id, medication_name, taken_at FROM doses;
DROP TABLE doses;
ALTER TABLE _mt_old_doses RENAME TO doses;
CREATE INDEX ix_doses_id ON doses (id);
CREATE INDEX ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
