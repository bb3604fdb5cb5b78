DROP INDEX ix_items_title_owner;
