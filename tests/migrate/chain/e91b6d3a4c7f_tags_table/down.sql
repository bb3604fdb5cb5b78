DROP INDEX ix_tags_label;
ALTER TABLE items DROP COLUMN archived;
DROP TABLE tags;
