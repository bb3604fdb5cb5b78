DROP TABLE doses;
DROP TABLE medications;
