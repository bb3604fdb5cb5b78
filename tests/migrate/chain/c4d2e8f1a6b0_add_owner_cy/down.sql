UPDATE items SET title = 'vitamin d', title_upper = 'VITAMIN D' WHERE id = 3;
DELETE FROM items WHERE id = 4;
DELETE FROM owners WHERE id = 3;
