-- blobs: rows larger than a page, so every write builds or rewrites an
-- overflow chain, and reads walk it.
--
-- Each row records the length of its blob; the invariant checks it, and
-- full reads are compared byte for byte with the reference.

\description rows larger than a page: overflow chains written, grown, shrunk and read
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup
\param slots 24
\param min_bytes 1000
\param max_bytes 20000

\setup
CREATE TABLE bl_blobs(id INTEGER PRIMARY KEY, len INTEGER NOT NULL, data BLOB NOT NULL, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :slots)
INSERT INTO bl_blobs SELECT i, 0, x'', NULL FROM n;

\transaction write @4 deferred:1 immediate:1
\set id random(1, :slots)
\set size random(:min_bytes, :max_bytes)
\set data random_blob(:size)
UPDATE bl_blobs SET len = :size, data = :data WHERE id = :id;

\transaction write_two @2 immediate
\set a random(1, :slots)
\set b random(1, :slots)
\set data random_blob(random(:min_bytes, :max_bytes))
UPDATE bl_blobs SET len = length(:data), data = :data WHERE id = :a;
\set data random_blob(random(10, 3 * :max_bytes))
UPDATE bl_blobs SET len = length(:data), data = :data WHERE id = :b;

\transaction copy @1
-- one row's chain copied over another's
\set a random(1, :slots)
\set b random(1, :slots)
UPDATE bl_blobs SET data = (SELECT data FROM bl_blobs WHERE id = :b),
                    len = (SELECT len FROM bl_blobs WHERE id = :b) WHERE id = :a;

\transaction note @1 autocommit
\set id random(1, :slots)
\set t random_text(random(0, :max_bytes))
UPDATE bl_blobs SET note = :t WHERE id = :id;

\transaction shrink @1 autocommit
\set id random(1, :slots)
UPDATE bl_blobs SET data = substr(data, 1, 16), len = min(len, 16) WHERE id = :id;
-- substr() of an empty blob (a slot never written) is NULL, not x''
\expect constraint_notnull

\transaction replace @1 immediate
-- delete and insert: the freed chain is reused
\set id random(1, :slots)
\set data random_blob(random(:min_bytes, :max_bytes))
DELETE FROM bl_blobs WHERE id = :id;
INSERT INTO bl_blobs(id, len, data) VALUES (:id, length(:data), :data);

\transaction read @3
\set id random(1, :slots)
\set id2 random(1, :slots)
SELECT id, len, length(data), substr(data, 1, 8), substr(data, -8, 8), length(note) FROM bl_blobs WHERE id = :id;
SELECT data FROM bl_blobs WHERE id = :id2;
\sleep random(0, 500) us
SELECT sum(len), count(*) FROM bl_blobs;

\invariants
SELECT count(*) = 0 FROM bl_blobs WHERE length(data) <> len;
SELECT count(*) = :slots FROM bl_blobs;
