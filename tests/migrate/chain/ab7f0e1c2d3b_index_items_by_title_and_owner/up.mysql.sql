CREATE INDEX IF NOT EXISTS ix_items_title_owner ON items (title, owner_id);
