ALTER TABLE medications DROP COLUMN person_id;
DROP TABLE persons;
