-- The drift list of paid orders without a notification, and its count, read
-- only this partial index (mid, then newest first): confirmed orders
-- (0008) leave the index rather than being filtered out row by row.
-- Built under a new name, then swapped: CREATE INDEX holds writes to orders
-- (not reads) while it reads the table, a few seconds per million orders.
-- IF [NOT] EXISTS: a database that ran an earlier draft of 0008, which did
-- this itself, passes through unchanged.
CREATE INDEX IF NOT EXISTS orders_paid_unconfirmed_idx ON orders (mid, created_at DESC, id DESC)
    WHERE status = 'paid' AND notified_at IS NULL AND paid_confirmed_at IS NULL;
DROP INDEX IF EXISTS orders_paid_unnotified_idx;
