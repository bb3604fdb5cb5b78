CREATE INDEX ix_items_title_owner ON items (title, owner_id);
