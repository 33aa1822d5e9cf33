-- Refunds from the dashboard (models/refund*.go). The refunds table of 0003
-- held the refunds Ksher reported (all succeeded); a refund a person asks
-- for is now a row too, from the moment it is accepted, with what is needed
-- to send it exactly once and to find out what became of it.
ALTER TABLE refunds
    -- dashboard: asked for here; ksher: seen in Ksher's answers or reports
    -- (made in Ksher's portal, or before ksherdash). Existing rows are Ksher's.
    ADD COLUMN origin           text        NOT NULL DEFAULT 'ksher' CHECK (origin IN ('dashboard', 'ksher')),
    -- Which order Ksher is asked to refund (v3: ksher_order_no or
    -- mch_order_no; vip: the order family of the path) and by which id.
    ADD COLUMN target_field     text        NOT NULL DEFAULT '',
    ADD COLUMN target_id        text        NOT NULL DEFAULT '',
    ADD COLUMN order_amount     bigint      NOT NULL DEFAULT 0,
    ADD COLUMN channel          text        NOT NULL DEFAULT '',
    -- Sending: attempts made, and whether one is under way (set before the
    -- call, cleared with its outcome: a row left in flight means an attempt
    -- whose outcome nobody saw, which makes the refund unknown).
    ADD COLUMN attempts         integer     NOT NULL DEFAULT 0,
    ADD COLUMN in_flight        boolean     NOT NULL DEFAULT false,
    ADD COLUMN sent_at          timestamptz,
    ADD COLUMN error_code       text        NOT NULL DEFAULT '',
    -- Reconciling an unknown refund: since when, how often asked, and
    -- whether the reconciler gave up (the drift page lists it for a person).
    ADD COLUMN unknown_since    timestamptz,
    ADD COLUMN checks           integer     NOT NULL DEFAULT 0,
    ADD COLUMN checked_at       timestamptz,
    ADD COLUMN needs_person     boolean     NOT NULL DEFAULT false,
    ADD COLUMN decided_at       timestamptz,
    ADD COLUMN resolved_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN resolution       text        NOT NULL DEFAULT '',
    ADD CONSTRAINT refunds_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown'));
UPDATE refunds SET decided_at = updated_at WHERE status IN ('succeeded', 'failed');

-- The remaining-amount check and the reconciler read an order's open refunds.
CREATE INDEX refunds_open_idx ON refunds (order_id) WHERE status IN ('pending', 'unknown');
-- The refunds lists: newest first, per mid and across mids.
CREATE INDEX refunds_mid_created_idx ON refunds (mid, created_at DESC, id DESC);
CREATE INDEX refunds_created_idx ON refunds (created_at DESC, id DESC);
CREATE INDEX refunds_unknown_idx ON refunds (unknown_since) WHERE status = 'unknown';

-- The open refund number of one person on one order: minted when the
-- refund form is first shown, reused by every form shown until a refund is
-- made with it (then the row goes), so a double click, two tabs or a
-- replayed POST carry the same number: the idempotency key.
CREATE TABLE refund_drafts (
    order_id      bigint      NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mid           text        NOT NULL,
    mch_refund_no text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, user_id),
    CONSTRAINT refund_drafts_mid_no_key UNIQUE (mid, mch_refund_no)
);

-- Step-up: when the session's person last confirmed their password (and
-- TOTP code) for a refund; valid for a few minutes in that session only.
ALTER TABLE sessions ADD COLUMN stepped_up_at timestamptz;

-- Partial refunds. vip: the vip API does not say whether the merchant may
-- refund part of an order, so the account says (edited on its page). v3:
-- merchant_info's allow_partial_refund as Ksher last reported it per mid
-- ('Y', 'N', '' = not asked yet); Ksher does not sign that field.
ALTER TABLE merchant_accounts ADD COLUMN allow_partial_refund boolean NOT NULL DEFAULT true;
ALTER TABLE mids ADD COLUMN partial_refund_reported text NOT NULL DEFAULT '' CHECK (partial_refund_reported IN ('', 'Y', 'N')),
                 ADD COLUMN partial_refund_reported_at timestamptz;
