-- job-queue: every connection is a worker. It claims the oldest queued
-- job with one UPDATE ... RETURNING, remembers the job in a \persist
-- variable, and completes it in a later transaction, but only while the
-- job is still its own (:client_id). Producers add jobs; a cancel of a
-- job someone holds or finished is refused by a trigger (RAISE(ABORT)),
-- which the workload expects.
--
-- The worker's memory follows only committed transactions (a claim that
-- aborted is forgotten), yet every statement checks the database rather
-- than trusting it: a claim whose COMMIT failed but happened anyway, or a
-- commit a power loss took back, leaves the worker's memory and the
-- table apart, and the next claim or completion settles it. So the
-- invariants hold under faults too.

\description workers claim jobs (UPDATE ... RETURNING) and complete their own claim in a later transaction
\requires sqlite 3.35.0 UPDATE ... RETURNING
\param jobs 20
\persist job     -- the job this worker claimed and has not completed

\setup
CREATE TABLE jq_jobs(
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('queued', 'claimed', 'done')),
  worker INTEGER CHECK ((state = 'queued') = (worker IS NULL)));
CREATE INDEX jq_jobs_state ON jq_jobs(state, worker);
CREATE TABLE jq_done(job INTEGER PRIMARY KEY, worker INTEGER NOT NULL);
CREATE TRIGGER jq_cancel_queued_only BEFORE DELETE ON jq_jobs WHEN old.state <> 'queued'
BEGIN SELECT RAISE(ABORT, 'only a queued job can be cancelled'); END;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :jobs)
INSERT INTO jq_jobs(id, state) SELECT i, 'queued' FROM n;

\transaction work @6 deferred:1 immediate:1
\if :job IS NULL
-- claim: a job this worker already holds (its claim committed though the
-- worker saw the COMMIT fail), else the oldest queued one; no row: NULL
UPDATE jq_jobs SET state = 'claimed', worker = :client_id
 WHERE id = coalesce((SELECT min(id) FROM jq_jobs WHERE state = 'claimed' AND worker = :client_id),
                     (SELECT min(id) FROM jq_jobs WHERE state = 'queued'))
 RETURNING id AS job \gset
\name claim
\else
-- complete the job claimed in an earlier transaction, if still ours
UPDATE jq_jobs SET state = 'done'
 WHERE id = :job AND state = 'claimed' AND worker = :client_id
 RETURNING id AS finished \gset
\name complete
\if :finished IS NOT NULL
INSERT INTO jq_done(job, worker) VALUES (:finished, :client_id);
\name log
\endif
\set job NULL
\endif

\transaction produce @2 autocommit
INSERT INTO jq_jobs(state) VALUES ('queued');

\transaction cancel @1 autocommit
\set id random(1, :jobs * 2)
DELETE FROM jq_jobs WHERE id = :id;
\expect constraint_trigger

\transaction peek @1
SELECT state, count(*) FROM jq_jobs GROUP BY state ORDER BY state;

\invariants
-- a job is done exactly when its worker logged it
SELECT count(*) = 0 FROM jq_jobs j
 WHERE (j.state = 'done') <> EXISTS (SELECT 1 FROM jq_done d WHERE d.job = j.id AND d.worker = j.worker);
SELECT count(*) = 0 FROM jq_done d WHERE NOT EXISTS (SELECT 1 FROM jq_jobs j WHERE j.id = d.job);
-- a worker holds at most one job
SELECT count(*) = 0 FROM (SELECT worker FROM jq_jobs WHERE state = 'claimed'
                          GROUP BY worker HAVING count(*) > 1);
