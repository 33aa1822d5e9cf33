-- "Re-sync all" on the drift page is a River job (models/drift_resync.go);
-- this is its progress row, which the page shows and polls: the orders the
-- page listed (in order), how many are settled, and what Ksher's answers
-- did so far.
CREATE TABLE drift_resyncs (
    id           bigserial   PRIMARY KEY,
    scope        text        NOT NULL,                -- the page's mid, or 'all'
    mids         jsonb       NOT NULL,                -- the mids the orders are looked up in
    order_ids    jsonb       NOT NULL,                -- the orders to ask about, in order
    done         integer     NOT NULL DEFAULT 0,      -- order_ids[done] is the next
    state        text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    asked        integer     NOT NULL DEFAULT 0,
    skipped      integer     NOT NULL DEFAULT 0,
    changed      integer     NOT NULL DEFAULT 0,
    confirmed    integer     NOT NULL DEFAULT 0,
    failed       integer     NOT NULL DEFAULT 0,
    error        text        NOT NULL DEFAULT '',
    requested_by bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
