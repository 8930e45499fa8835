-- list-append: the Elle list-append workload.
--
-- Each key names a list; a transaction does up to three micro-operations,
-- each either reading a whole list or appending a unique value to one.
-- The \elle lines map statements to micro-operations so that the history
-- can be exported for elle-cli: an append's value is the :v bound to it,
-- a read's list is the first column of its rows, in order.

\description Elle list-append: reads and appends of unique values over a few keys
\shape list-append
\param keys 8

\setup
CREATE TABLE la_items(seq INTEGER PRIMARY KEY, k INTEGER NOT NULL, v INTEGER NOT NULL UNIQUE);
CREATE INDEX la_items_k ON la_items(k, seq);

\transaction txn @4 deferred:3 immediate:1
\set k1 random_zipfian(1, :keys, 1.3)
\if random(0, 1) = 0
SELECT v FROM la_items WHERE k = :k1 ORDER BY seq;
\name r1
\elle read :k1
\else
\set v1 unique()
INSERT INTO la_items(k, v) VALUES (:k1, :v1);
\name a1
\elle append :k1 :v1
\endif
\set k2 random_zipfian(1, :keys, 1.3)
\if random(0, 1) = 0
SELECT v FROM la_items WHERE k = :k2 ORDER BY seq;
\name r2
\elle read :k2
\else
\set v2 unique()
INSERT INTO la_items(k, v) VALUES (:k2, :v2);
\name a2
\elle append :k2 :v2
\endif
\if random(0, 2) > 0
\set k3 random(1, :keys)
\if random(0, 1) = 0
SELECT v FROM la_items WHERE k = :k3 ORDER BY seq;
\name r3
\elle read :k3
\else
\set v3 unique()
INSERT INTO la_items(k, v) VALUES (:k3, :v3);
\name a3
\elle append :k3 :v3
\endif
\endif

\transaction read_two @1
\set k1 random(1, :keys)
\set k2 random(1, :keys)
SELECT v FROM la_items WHERE k = :k1 ORDER BY seq;
\name r1
\elle read :k1
SELECT v FROM la_items WHERE k = :k2 ORDER BY seq;
\name r2
\elle read :k2

\invariants
SELECT count(*) = 0 FROM la_items WHERE k NOT BETWEEN 1 AND :keys;
