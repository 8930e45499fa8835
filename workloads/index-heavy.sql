-- index-heavy: a table with many secondary indexes (composite, descending,
-- unique, partial, expression), updates that move rows between index
-- ranges, and range scans through each index.
--
-- weight moves between rows but its total is fixed; integrity_check (run
-- by the oracle) compares every index with the table.

\description many secondary indexes; updates move rows between index ranges
\requires sqlite 3.9.0 an index on an expression, ih_items_mod
\requires sqlite 3.8.0 a partial index, ih_items_tag
\param rows 200

\setup
CREATE TABLE ih_items(
  id INTEGER PRIMARY KEY,
  grp INTEGER NOT NULL,
  score INTEGER NOT NULL,
  name TEXT NOT NULL,
  tag TEXT,
  weight INTEGER NOT NULL CHECK (weight >= 0));
CREATE INDEX ih_items_grp ON ih_items(grp, score);
CREATE INDEX ih_items_score ON ih_items(score DESC, id);
CREATE UNIQUE INDEX ih_items_name ON ih_items(name);
CREATE INDEX ih_items_tag ON ih_items(tag) WHERE tag IS NOT NULL;
CREATE INDEX ih_items_mod ON ih_items(weight % 7, id);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO ih_items SELECT i, i % 10, (i * 37) % 1000, 'item-' || i,
       CASE WHEN i % 3 = 0 THEN 't' || (i % 5) END, 10 FROM n;

\transaction move @5 deferred:2 immediate:1
\set id random(1, :rows)
\set g random(0, 9)
\set s random_gaussian(0, 999, 2.5)
UPDATE ih_items SET grp = :g, score = :s WHERE id = :id;
\set id2 random(1, :rows)
UPDATE ih_items SET score = 999 - score WHERE id = :id2;

\transaction rename @2
-- may collide with another row's name: the UNIQUE index aborts it
\set id random(1, :rows)
\set n random(1, :rows * 2)
UPDATE ih_items SET name = 'item-' || :n WHERE id = :id;
\expect constraint_unique

\transaction retag @2 autocommit
\set id random(1, :rows)
\set t choose('t0', 't1', 't2', 't3', 't4', NULL)
UPDATE ih_items SET tag = :t WHERE id = :id;

\transaction shift_weight @3 deferred:1 immediate:1
\set a random(1, :rows)
\set b random(1, :rows)
\set d random(1, 5)
SELECT weight AS w FROM ih_items WHERE id = :a \gset
\if :w >= :d AND :a <> :b
UPDATE ih_items SET weight = :w - :d WHERE id = :a;
UPDATE ih_items SET weight = weight + :d WHERE id = :b;
\endif

\transaction reinsert @1 immediate
-- delete the row and insert it back, elsewhere in every index
\set id random(1, :rows)
\set g random(0, 9)
\set s random(0, 999)
SELECT weight AS w, name AS nm FROM ih_items WHERE id = :id \gset
DELETE FROM ih_items WHERE id = :id;
INSERT INTO ih_items(id, grp, score, name, tag, weight) VALUES (:id, :g, :s, :nm, NULL, :w);

\transaction scan @4
\set g random(0, 9)
\set lo random(0, 900)
\set t choose('t0', 't1', 't2', 't3', 't4')
SELECT id, score FROM ih_items WHERE grp = :g AND score BETWEEN :lo AND :lo + 200 ORDER BY score, id;
SELECT id, score FROM ih_items WHERE score <= :lo ORDER BY score DESC, id LIMIT 10;
SELECT id FROM ih_items WHERE tag = :t ORDER BY id;
SELECT count(*), sum(weight) FROM ih_items WHERE weight % 7 = :g % 7;

\invariants
SELECT sum(weight) = :rows * 10 FROM ih_items;
SELECT count(*) = :rows FROM ih_items;
SELECT (SELECT count(*) FROM ih_items) = (SELECT count(*) FROM ih_items INDEXED BY ih_items_grp WHERE grp >= 0);
