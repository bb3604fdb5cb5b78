-- Back to the first doses table; medication_name cannot be kept there.
CREATE TABLE _mt_old_doses (
	id INTEGER NOT NULL, 
	medication_id INTEGER, 
	taken_at DATETIME DEFAULT (CURRENT_TIMESTAMP), 
	PRIMARY KEY (id), 
	FOREIGN KEY(medication_id) REFERENCES medications (id) ON DELETE CASCADE
);
INSERT INTO _mt_old_doses (id, medication_id, taken_at)
SELECT id, medication_id, taken_at FROM doses;
DROP TABLE doses;
ALTER TABLE _mt_old_doses RENAME TO doses;
CREATE INDEX ix_doses_id ON doses (id);
