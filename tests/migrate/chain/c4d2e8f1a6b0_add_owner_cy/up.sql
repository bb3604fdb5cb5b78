INSERT INTO owners (id, name, email) SELECT 3, 'cy', 'cy@example.org' WHERE NOT EXISTS (SELECT 1 FROM owners WHERE id = 3);
INSERT INTO items (id, owner_id, title, title_upper) VALUES (4, 3, 'zinc', 'ZINC');
UPDATE items SET title = 'vitamin d3', title_upper = 'VITAMIN D3' WHERE id = 3;
