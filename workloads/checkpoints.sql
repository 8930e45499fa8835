-- checkpoints: explicit checkpoints of every kind while others write and
-- long readers hold their snapshots.
--
-- A small wal_autocheckpoint makes committing writers checkpoint too.
-- The long reader sleeps (simulated time) between its reads, so
-- checkpoints must stop at its snapshot, and RESTART/TRUNCATE wait for it.
-- A checkpoint's row (busy, log frames, checkpointed frames) depends on
-- the WAL, which the reference does not have: the statement is marked
-- NOCHECK (replayed, not compared) automatically. Inside a transaction
-- SQLite refuses a checkpoint, so each kind is an autocommit template.

\description wal_checkpoint PASSIVE/FULL/RESTART/TRUNCATE beside writers and long readers
-- Before 3.8.8 SQLite takes wal_checkpoint(TRUNCATE) for PASSIVE, without
-- an error: on such a version the truncate template runs, and tests less.
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup
\pragma wal_autocheckpoint=8
\param rows 50

\setup
CREATE TABLE ck_data(id INTEGER PRIMARY KEY, v INTEGER NOT NULL, pad BLOB NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO ck_data SELECT i, 0, zeroblob(200) FROM n;

\transaction write @8 deferred:1 immediate:1
-- moves d from one row to another: sum(v) stays 0
\set a random(1, :rows)
\set b random(1, :rows)
\set d random(1, 9)
\set pad random_blob(random(100, 1500))
UPDATE ck_data SET v = v + :d, pad = :pad WHERE id = :a;
UPDATE ck_data SET v = v - :d WHERE id = :b;

\transaction long_read @3
SELECT sum(v), count(*) FROM ck_data;
\sleep random(1, 20) ms
SELECT sum(v), sum(length(pad)) FROM ck_data;
\sleep random(1, 20) ms
SELECT id, v FROM ck_data WHERE id <= 10 ORDER BY id;

\transaction passive @1 autocommit
PRAGMA wal_checkpoint(PASSIVE);

\transaction full @1 autocommit
PRAGMA wal_checkpoint(FULL);

\transaction restart @1 autocommit
PRAGMA wal_checkpoint(RESTART);

\transaction truncate @1 autocommit
PRAGMA wal_checkpoint(TRUNCATE);

\invariants
SELECT sum(v) = 0 FROM ck_data;
SELECT count(*) = :rows FROM ck_data;
