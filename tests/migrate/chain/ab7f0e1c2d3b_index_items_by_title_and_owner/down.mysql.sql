DROP INDEX IF EXISTS ix_items_title_owner ON items;
