-- bank: money moves between accounts; the total never changes.
--
-- transfer is a read-modify-write: it reads the source balance and writes
-- back a value computed from what it read, so a lost update (two transfers
-- debiting from the same old balance) changes the total. quick_transfer
-- moves money in one autocommit statement; audit reads every balance in
-- one snapshot.

\description transfers (read-modify-write) and audits; total invariant
\requires sqlite 3.8.3 WITH RECURSIVE, in the setup
\param accounts 10
\param initial 1000
\param max_amount 50

\setup
CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :accounts)
INSERT INTO accounts SELECT i, :initial FROM n;

\transaction transfer @6 deferred:2 immediate:1
\set from random(1, :accounts)
-- a destination other than the source
\set to random(1, :accounts - 1)
\if :to >= :from
\set to :to + 1
\endif
\set amount random(1, :max_amount)
SELECT balance FROM accounts WHERE id = :from \gset
\name read
\if :balance < :amount
\rollback
\endif
UPDATE accounts SET balance = :balance - :amount WHERE id = :from;
\name debit
UPDATE accounts SET balance = balance + :amount WHERE id = :to;
\name credit

\transaction audit @3
SELECT sum(balance) FROM accounts;
\name sum
SELECT id, balance FROM accounts ORDER BY id;
\name scan

\transaction quick_transfer @1 autocommit
\set from random(1, :accounts)
\set to random(1, :accounts - 1)
\set to :to + (:to >= :from)
\set amount random(1, :max_amount)
UPDATE accounts SET balance = balance + (CASE WHEN id = :from THEN -:amount ELSE :amount END)
 WHERE id IN (:from, :to);
\name move

\invariants
SELECT sum(balance) = :accounts * :initial FROM accounts;
SELECT count(*) = :accounts FROM accounts;
