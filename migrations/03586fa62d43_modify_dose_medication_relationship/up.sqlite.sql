-- SQLite cannot change a foreign key in place: rebuild doses (nothing refers
-- to doses, so dropping it fires no foreign key action). taken_at stays
-- nullable here, unlike the reference's NOT NULL, because earlier revisions
-- allowed NULL and no row may be refused.
CREATE TABLE _mt_new_doses (
            id INTEGER PRIMARY KEY,
            medication_id INTEGER REFERENCES medications(id) ON DELETE SET NULL,
            medication_name TEXT,
            taken_at TIMESTAMP
        );
INSERT INTO _mt_new_doses (id, medication_id, medication_name, taken_at)
SELECT d.id, d.medication_id, m.name, d.taken_at
FROM doses d LEFT JOIN medications m ON m.id = d.medication_id;
DROP TABLE doses;
ALTER TABLE _mt_new_doses RENAME TO doses;
CREATE INDEX ix_doses_id ON doses (id);
