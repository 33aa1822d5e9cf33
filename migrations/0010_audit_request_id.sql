-- The request that made an audited change, so an audit line leads to the
-- log lines of the same request (every log line carries request_id).
-- Adding a column with a constant default rewrites nothing (PostgreSQL 11+).
ALTER TABLE audit_log ADD COLUMN request_id text NOT NULL DEFAULT '';
