-- Nothing refers to doses, so it is rebuilt in place with the new column and
-- its foreign key; each dose takes its person from its medication. Doses of
-- deleted medications (medication_id NULL) get NULL: nothing says whose they
-- were.
CREATE TABLE _mt_new_doses (
	id INTEGER NOT NULL, 
	medication_id INTEGER, 
	medication_name VARCHAR, 
	taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	person_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE SET NULL, 
	FOREIGN KEY(person_id) REFERENCES persons (id) ON DELETE CASCADE
);
INSERT INTO _mt_new_doses (id, medication_id, medication_name, taken_at, person_id)
SELECT d.id, d.medication_id, d.medication_name, d.taken_at, m.person_id
FROM doses d LEFT JOIN medications m ON m.id = d.medication_id;
DROP TABLE doses;
ALTER TABLE _mt_new_doses RENAME TO doses;
CREATE INDEX ix_doses_id ON doses (id);
CREATE INDEX ix_doses_medication_id_taken_at ON doses (medication_id, taken_at);
CREATE INDEX ix_doses_person_id_taken_at ON doses (person_id, taken_at);
