-- rw-register: the Elle read-write register workload.
--
-- Each key is a register holding one value; a transaction reads or
-- overwrites (with a run-wide unique value) up to three registers. \elle
-- maps each statement to [:r k v] or [:w k v] for elle-cli: a write's
-- value is the :v bound to it, a read's value the first column of its
-- first row (no row: nil).

\description Elle rw-register: reads and unique writes of a few registers
\requires sqlite 3.24.0 UPSERT: INSERT ... ON CONFLICT DO UPDATE
\shape rw-register
\param keys 8

\setup
CREATE TABLE rw_regs(k INTEGER PRIMARY KEY, v INTEGER NOT NULL);

\transaction txn @4 deferred:3 immediate:1
\set k1 random_zipfian(1, :keys, 1.3)
\if random(0, 1) = 0
SELECT v FROM rw_regs WHERE k = :k1;
\name r1
\elle read :k1
\else
\set v1 unique()
INSERT INTO rw_regs(k, v) VALUES (:k1, :v1) ON CONFLICT(k) DO UPDATE SET v = excluded.v;
\name w1
\elle write :k1 :v1
\endif
\set k2 random_zipfian(1, :keys, 1.3)
\if random(0, 1) = 0
SELECT v FROM rw_regs WHERE k = :k2;
\name r2
\elle read :k2
\else
\set v2 unique()
INSERT INTO rw_regs(k, v) VALUES (:k2, :v2) ON CONFLICT(k) DO UPDATE SET v = excluded.v;
\name w2
\elle write :k2 :v2
\endif
\if random(0, 2) > 0
\set k3 random(1, :keys)
\if random(0, 1) = 0
SELECT v FROM rw_regs WHERE k = :k3;
\name r3
\elle read :k3
\else
\set v3 unique()
INSERT INTO rw_regs(k, v) VALUES (:k3, :v3) ON CONFLICT(k) DO UPDATE SET v = excluded.v;
\name w3
\elle write :k3 :v3
\endif
\endif

\transaction write_one @1 autocommit
\set k random(1, :keys)
\set v unique()
INSERT INTO rw_regs(k, v) VALUES (:k, :v) ON CONFLICT(k) DO UPDATE SET v = excluded.v;
\name w
\elle write :k :v

\invariants
SELECT count(*) = 0 FROM rw_regs WHERE k NOT BETWEEN 1 AND :keys;
