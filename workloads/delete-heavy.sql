-- delete-heavy: rows inserted in batches and deleted in bulk, so pages go
-- to the freelist and come back; PRAGMA incremental_vacuum returns free
-- pages to the file system now and then.
--
-- The database is made incremental-vacuum in the setup: on a WAL database
-- the mode only changes through VACUUM, hence the VACUUM after the pragma
-- (it also works when this setup runs after others, in the default mix).
-- incremental_vacuum changes the file, not the content: it is marked
-- NOREPLAY (not run on the reference) automatically.

\description freelist churn: batch inserts, bulk deletes, incremental_vacuum
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup and in fill
\param groups 20

\setup
PRAGMA auto_vacuum = INCREMENTAL;
VACUUM;
CREATE TABLE dh_rows(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, pad BLOB NOT NULL);
CREATE INDEX dh_rows_grp ON dh_rows(grp);
CREATE TABLE dh_groups(grp INTEGER PRIMARY KEY, n INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :groups)
INSERT INTO dh_groups SELECT i, 0 FROM n;

\transaction fill @5 deferred:1 immediate:1
\set g random(1, :groups)
\set n random(5, 40)
\set pad random_blob(random(100, 900))
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)
INSERT INTO dh_rows(grp, pad) SELECT :g, :pad FROM s;
UPDATE dh_groups SET n = n + :n WHERE grp = :g;

\transaction purge @3
\set g random(1, :groups)
DELETE FROM dh_rows WHERE grp = :g;
UPDATE dh_groups SET n = 0 WHERE grp = :g;

\transaction thin @2
\set g random(1, :groups)
DELETE FROM dh_rows WHERE grp = :g AND id % 2 = 0;
UPDATE dh_groups SET n = (SELECT count(*) FROM dh_rows WHERE grp = :g) WHERE grp = :g;

\transaction purge_and_vacuum @1 immediate
\set g random(1, :groups)
DELETE FROM dh_rows WHERE grp = :g;
UPDATE dh_groups SET n = 0 WHERE grp = :g;
PRAGMA incremental_vacuum(8);

\transaction vacuum @1 autocommit
PRAGMA incremental_vacuum;

\transaction count @2
SELECT grp, n FROM dh_groups ORDER BY grp;
SELECT count(*) FROM dh_rows;

\invariants
SELECT count(*) = 0 FROM dh_groups g WHERE g.n <> (SELECT count(*) FROM dh_rows r WHERE r.grp = g.grp);
