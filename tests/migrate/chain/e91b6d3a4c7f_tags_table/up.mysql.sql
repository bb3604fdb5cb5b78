CREATE TABLE IF NOT EXISTS tags (
    id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    label VARCHAR(50) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (item_id) REFERENCES items (id) ON DELETE CASCADE
) ENGINE=InnoDB;
INSERT INTO tags (id, item_id, label) SELECT id, id, CONCAT('tag-', id) FROM items;
ALTER TABLE items ADD COLUMN IF NOT EXISTS archived SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS ix_tags_label ON tags (label);
