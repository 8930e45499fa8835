-- counter: read-modify-write increments of a few hot counters.
--
-- Every increment reads the counter, writes the value it read plus one,
-- and logs (counter, value read) in the same transaction. So at the end
-- each counter equals the number of its log rows, and no two log rows of
-- one counter saw the same value: a lost update breaks both.

\description read-modify-write increments; every counter equals its committed increments
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup
\param counters 8

\setup
CREATE TABLE counters(id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE counter_log(seq INTEGER PRIMARY KEY, counter_id INTEGER NOT NULL,
                         value_seen INTEGER NOT NULL);
CREATE INDEX counter_log_counter ON counter_log(counter_id, value_seen);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :counters)
INSERT INTO counters SELECT i, 0 FROM n;

\transaction increment @8 deferred:3 immediate:1
-- a few counters take most of the traffic
\set id random_zipfian(1, :counters, 1.5)
SELECT value FROM counters WHERE id = :id \gset
\name read
UPDATE counters SET value = :value + 1 WHERE id = :id;
\name write
INSERT INTO counter_log(counter_id, value_seen) VALUES (:id, :value);
\name log

\transaction double_increment @2 deferred:1 immediate:1
\set a random(1, :counters)
\set b random(1, :counters)
SELECT value AS va FROM counters WHERE id = :a \gset
UPDATE counters SET value = :va + 1 WHERE id = :a;
INSERT INTO counter_log(counter_id, value_seen) VALUES (:a, :va);
\sleep random(0, 200) us
SELECT value AS vb FROM counters WHERE id = :b \gset
UPDATE counters SET value = :vb + 1 WHERE id = :b;
INSERT INTO counter_log(counter_id, value_seen) VALUES (:b, :vb);

\transaction check @2
SELECT c.id, c.value, (SELECT count(*) FROM counter_log l WHERE l.counter_id = c.id)
  FROM counters c ORDER BY c.id;

\transaction peek @1 autocommit
\set id random(1, :counters)
SELECT value FROM counters WHERE id = :id;

\invariants
SELECT count(*) = 0 FROM counters c
 WHERE c.value <> (SELECT count(*) FROM counter_log l WHERE l.counter_id = c.id);
SELECT count(*) = 0 FROM (SELECT 1 FROM counter_log GROUP BY counter_id, value_seen
                           HAVING count(*) > 1);
