-- savepoints: nested SAVEPOINT, RELEASE and ROLLBACK TO inside
-- transactions.
--
-- Every change to an item is logged, in the same savepoint, with its
-- delta; whatever a ROLLBACK TO undoes, it undoes both. So at the end
-- each item equals the sum of its logged deltas.
--
-- Each transaction writes once outside any savepoint before its first
-- SAVEPOINT, so every transaction of this workload is a writer and is
-- checked at its commit position (SQLite reports SAVEPOINT and RELEASE as
-- read-only statements).

\description nested SAVEPOINT / RELEASE / ROLLBACK TO; changes and their log stay together
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup
\param items 10

\setup
CREATE TABLE sp_items(id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE sp_log(seq INTEGER PRIMARY KEY, item INTEGER NOT NULL, delta INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :items)
INSERT INTO sp_items SELECT i, 0 FROM n;

\transaction nested @6 deferred:2 immediate:1
\set a random(1, :items)
\set b random(1, :items)
\set c random(1, :items)
INSERT INTO sp_log(item, delta) VALUES (:a, 0);
SAVEPOINT outer_sp;
UPDATE sp_items SET v = v + 1 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 1);
SAVEPOINT inner_sp;
UPDATE sp_items SET v = v + 2 WHERE id = :b;
INSERT INTO sp_log(item, delta) VALUES (:b, 2);
\if random(0, 2) = 0
ROLLBACK TO inner_sp;
\endif
RELEASE inner_sp;
SAVEPOINT third_sp;
UPDATE sp_items SET v = v + 3 WHERE id = :c;
INSERT INTO sp_log(item, delta) VALUES (:c, 3);
\if random(0, 3) = 0
-- undo, then do something else in the same savepoint
ROLLBACK TO third_sp;
UPDATE sp_items SET v = v - 5 WHERE id = :c;
INSERT INTO sp_log(item, delta) VALUES (:c, -5);
\endif
RELEASE third_sp;
\if random(0, 4) = 0
ROLLBACK TO outer_sp;
\endif
RELEASE outer_sp;

\transaction deep @2 immediate
\set a random(1, :items)
INSERT INTO sp_log(item, delta) VALUES (:a, 0);
SAVEPOINT l1;
UPDATE sp_items SET v = v + 10 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 10);
SAVEPOINT l2;
UPDATE sp_items SET v = v + 20 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 20);
SAVEPOINT l3;
UPDATE sp_items SET v = v + 30 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 30);
SAVEPOINT l4;
UPDATE sp_items SET v = v + 40 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 40);
\set depth random(1, 4)
\if :depth = 1
ROLLBACK TO l1;
\elif :depth = 2
ROLLBACK TO l2;
\elif :depth = 3
ROLLBACK TO l3;
\else
ROLLBACK TO l4;
\endif
-- releasing the outermost releases everything inside it
RELEASE l1;

\transaction abandon @1
\set a random(1, :items)
INSERT INTO sp_log(item, delta) VALUES (:a, 0);
SAVEPOINT s;
UPDATE sp_items SET v = v + 100 WHERE id = :a;
INSERT INTO sp_log(item, delta) VALUES (:a, 100);
RELEASE s;
\rollback

\transaction audit @2
SELECT sum(v) FROM sp_items;
SELECT item, sum(delta) FROM sp_log GROUP BY item ORDER BY item;

\invariants
SELECT (SELECT sum(v) FROM sp_items) = (SELECT coalesce(sum(delta), 0) FROM sp_log);
SELECT count(*) = 0 FROM sp_items i
 WHERE i.v <> (SELECT coalesce(sum(delta), 0) FROM sp_log l WHERE l.item = i.id);
