-- Who is asking Ksher about a key right now. A lease replaces the advisory
-- lock that was held, with a pooled connection, for the whole call: callers
-- now hold a connection only for short statements, so a hanging gateway
-- cannot use up the pool. UNLOGGED: a lease lives seconds, and losing them in
-- a crash only lets the next caller ask again (upstream_calls still keeps the
-- 10-second gap).
CREATE UNLOGGED TABLE upstream_leases (
    key    text        PRIMARY KEY,
    holder text        NOT NULL,
    until  timestamptz NOT NULL
);
