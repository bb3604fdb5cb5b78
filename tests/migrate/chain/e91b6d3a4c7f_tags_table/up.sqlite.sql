CREATE TABLE tags (
    id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    label VARCHAR(50) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE
);
INSERT INTO tags (id, item_id, label) SELECT id, id, 'tag-' || id FROM items;
ALTER TABLE items ADD COLUMN archived SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX ix_tags_label ON tags (label);
