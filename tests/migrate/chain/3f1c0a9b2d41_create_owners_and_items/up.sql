-- Two tables with a cascading foreign key, and a few rows.
CREATE TABLE owners (
    id INTEGER NOT NULL,
    name VARCHAR(100) NOT NULL,
    PRIMARY KEY (id)
);
CREATE TABLE items (
    id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL,
    title VARCHAR(200) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE CASCADE
);
INSERT INTO owners (id, name) VALUES (1, 'ann'), (2, 'bob');
INSERT INTO items (id, owner_id, title) VALUES (1, 1, 'aspirin'), (2, 1, 'ibuprofen'), (3, 2, 'vitamin d');
