-- ddl-churn: schema changes beside ordinary reads and writes.
--
-- Indexes come and go, a side table is dropped and created again, and a
-- column is added and dropped, while other connections update and read.
-- Every connection prepares each statement afresh, so a schema change
-- shows up as SQLITE_SCHEMA (retried inside sqlite3_prepare_v2) or, when
-- the table or column is gone, as an error that aborts the transaction;
-- the reference, replayed in commit order, must fail the same way.
--
-- Read-only statements only name objects that exist after the setup, so
-- that the oracle can classify them on the initial schema. DROP TABLE and
-- DROP VIEW leave sqlite3_changes() at the previous statement's count
-- (which the driver records), so a DML statement changing no row comes
-- first in the same transaction and pins it.

\description CREATE/DROP INDEX and TABLE, ALTER TABLE ADD/DROP COLUMN beside DML
\requires sqlite 3.35.0 ALTER TABLE DROP COLUMN
\requires sqlite 3.16.0 table-valued pragma functions: pragma_table_info()
\param rows 40

\setup
CREATE TABLE dc_main(id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b TEXT);
CREATE TABLE dc_side(id INTEGER PRIMARY KEY, main_id INTEGER NOT NULL, v INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO dc_main SELECT i, i % 13, 'b' || i FROM n;

\transaction dml @8 deferred:2 immediate:1
\set id random(1, :rows)
\set lo random(0, 20)
UPDATE dc_main SET a = a + 1 WHERE id = :id;
SELECT count(*), sum(a) FROM dc_main WHERE a > :lo;

\transaction side_write @3
\set id random(1, :rows)
\set v random(1, 100)
INSERT INTO dc_side(main_id, v) VALUES (:id, :v);
-- no such table while dc_side is dropped; SQLITE_SCHEMA when it changes
-- under a prepare more often than sqlite3_prepare_v2 retries
\expect error schema

\transaction side_read @3
SELECT count(*), coalesce(sum(v), 0) FROM dc_side;
\expect error schema
SELECT id, a, b FROM dc_main WHERE id <= 5 ORDER BY id;

\transaction add_index @1 immediate
CREATE INDEX IF NOT EXISTS dc_main_a ON dc_main(a);

\transaction drop_index @1 immediate
DROP INDEX IF EXISTS dc_main_a;

\transaction recreate_side @1 immediate
UPDATE dc_main SET a = a WHERE id = 0;
DROP TABLE IF EXISTS dc_side;
CREATE TABLE dc_side(id INTEGER PRIMARY KEY, main_id INTEGER NOT NULL, v INTEGER NOT NULL);
INSERT INTO dc_side(main_id, v) SELECT id, a FROM dc_main WHERE id % 4 = 0;

\transaction drop_side @1
UPDATE dc_main SET a = a WHERE id = 0;
DROP TABLE IF EXISTS dc_side;

\transaction add_column @1 immediate
\set id random(1, :rows)
SELECT count(*) AS has_c FROM pragma_table_info('dc_main') WHERE name = 'c' \gset
\if :has_c = 0
ALTER TABLE dc_main ADD COLUMN c INTEGER NOT NULL DEFAULT 0;
\else
UPDATE dc_main SET c = c + 1 WHERE id = :id;
\endif

\transaction drop_column @1 immediate
SELECT count(*) AS has_c FROM pragma_table_info('dc_main') WHERE name = 'c' \gset
\if :has_c = 1
ALTER TABLE dc_main DROP COLUMN c;
\endif

\transaction view @1 immediate
UPDATE dc_main SET a = a WHERE id = 0;
DROP VIEW IF EXISTS dc_view;
CREATE VIEW dc_view AS SELECT a % 5 AS bucket, count(*) AS n FROM dc_main GROUP BY 1;

\invariants
SELECT count(*) = :rows FROM dc_main;
