-- Operations: what the notification receivers, the event log, the daily
-- sync and the drift page need beyond 0003.

-- Notifications: who sent it, what state it reported, whether it repeats
-- one already handled (a replay: Ksher's retries, or someone resending a
-- captured one), and when it was acted on.
ALTER TABLE notifications
    ADD COLUMN remote_ip  text        NOT NULL DEFAULT '',
    ADD COLUMN status     text        NOT NULL DEFAULT '',
    ADD COLUMN replay     boolean     NOT NULL DEFAULT false,
    ADD COLUMN handled_at timestamptz;
CREATE INDEX notifications_digest_idx ON notifications (digest) WHERE digest <> '';
-- The receivers' budget for notifications that do not verify.
CREATE INDEX notifications_invalid_idx ON notifications (received_at) WHERE NOT valid;
CREATE INDEX notifications_account_idx ON notifications (account_id, received_at DESC, id DESC);

-- Drift: each time the cache and Ksher were found to disagree about an
-- order whose state the cache considered final.
CREATE TABLE order_drift (
    id              bigserial   PRIMARY KEY,
    order_id        bigint      NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    mid             text        NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    cached_status   text        NOT NULL,
    reported_status text        NOT NULL,
    -- What found it: sync, notification, resync, or recheck (any other
    -- path that asked Ksher again: a refresh, a lookup).
    source          text        NOT NULL,
    -- Whether the cache took Ksher's state (false: the cache refused it,
    -- e.g. an answer that would reopen a final order).
    accepted        boolean     NOT NULL
);
CREATE INDEX order_drift_mid_idx ON order_drift (mid, detected_at DESC, id DESC);
CREATE INDEX order_drift_order_idx ON order_drift (order_id);

-- Whatever path changes a final state on whichever replica (a refresh on
-- view, a lookup, a notification, the sync), the change is recorded. Refunds
-- moving a paid order on are not drift. The writer may name itself with
-- set_config('ksherdash.source', 'sync', true) in its transaction.
CREATE FUNCTION order_drift_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_drift (order_id, mid, detected_at, cached_status, reported_status, source, accepted)
    VALUES (NEW.id, NEW.mid, COALESCE(NEW.updated_at, now()), OLD.status, NEW.status,
            COALESCE(NULLIF(current_setting('ksherdash.source', true), ''), 'recheck'), true);
    RETURN NEW;
END;
$$;

CREATE TRIGGER orders_final_state_changed
    AFTER UPDATE OF status ON orders
    FOR EACH ROW
    WHEN (OLD.status IN ('paid', 'failed', 'closed', 'refunded', 'partially_refunded', 'reversed')
          AND NEW.status IS DISTINCT FROM OLD.status
          AND NOT (OLD.status = 'paid' AND NEW.status IN ('partially_refunded', 'refunded', 'reversed'))
          AND NOT (OLD.status IN ('partially_refunded', 'refunded') AND NEW.status IN ('partially_refunded', 'refunded')))
    EXECUTE FUNCTION order_drift_record();

-- Drift page: paid orders no notification told us about.
CREATE INDEX orders_paid_unnotified_idx ON orders (mid, created_at DESC, id DESC) WHERE status = 'paid' AND notified_at IS NULL;
