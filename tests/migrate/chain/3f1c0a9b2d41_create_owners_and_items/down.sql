DROP TABLE items;
DROP TABLE owners;
