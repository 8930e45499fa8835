-- default: every built-in workload at once, in one database.
--
-- Each \include brings in a built-in with its setup, pragmas, templates
-- and invariants; its templates are named "NAME/TEMPLATE", its parameters
-- "NAME/PARAM" (so --param bank/accounts=20 works). The weight after @ is
-- the share of transactions the included workload gets. The built-ins use
-- distinct table names, so their setups compose; the loader checks that.

\description every built-in at once, in one database (what make run and the nightly use)
\include bank @3
\include counter @2
\include list-append @2
\include rw-register @2
\include inventory @2
\include index-heavy @2
\include blobs @1
\include ddl-churn @1
\include checkpoints @2
\include savepoints @2
\include delete-heavy @1
