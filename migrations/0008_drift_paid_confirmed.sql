-- Drift page: a person can settle "paid, but no notification". A re-sync
-- from the drift page that hears Ksher say the order is paid, with the
-- amount the cache holds, records when; the order then leaves that list.
-- The missing notification stays a fact (notified_at stays empty): only
-- the question "is it really paid?" is answered.
ALTER TABLE orders ADD COLUMN paid_confirmed_at timestamptz;

-- The list and its count read only this partial index (mid, then newest
-- first), as before 0008: confirmed orders leave the index rather than being
-- filtered out row by row. Rebuilding it reads the table once, with writes
-- to orders held until it is done (a few seconds per million orders).
DROP INDEX orders_paid_unnotified_idx;
CREATE INDEX orders_paid_unnotified_idx ON orders (mid, created_at DESC, id DESC)
    WHERE status = 'paid' AND notified_at IS NULL AND paid_confirmed_at IS NULL;
