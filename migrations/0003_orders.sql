-- The order cache: what Ksher told us, indexed on every id a customer or a
-- bank may quote, plus refunds, each order's timeline, the cross-replica
-- guard of Ksher's 10-second query rule, received notifications, the daily
-- sync's jobs and saved list views.

CREATE TABLE orders (
    id               bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES merchant_accounts (id) ON DELETE CASCADE,
    mid              text        NOT NULL,
    -- How to ask Ksher about it: v3 'ksherpay' or 'gateway' (a payment link);
    -- vip 'redirect', 'miniapp', 'app', 'bscanc', 'cscanb'.
    kind             text        NOT NULL DEFAULT '',
    mch_order_no     text        NOT NULL,
    ksher_order_no   text        NOT NULL DEFAULT '',
    channel_order_no text        NOT NULL DEFAULT '',
    -- vip gateway_order_id, or the v3 pay_mch_order_no behind a payment link.
    gateway_order_no text        NOT NULL DEFAULT '',
    status           text        NOT NULL,
    raw_status       text        NOT NULL DEFAULT '',
    amount           bigint      NOT NULL CHECK (amount >= 0),
    currency         text        NOT NULL DEFAULT 'THB',
    refunded         bigint      NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    channel          text        NOT NULL DEFAULT '',
    paid_amount      bigint      NOT NULL DEFAULT 0,
    paid_currency    text        NOT NULL DEFAULT '',
    rate             text        NOT NULL DEFAULT '',
    product          text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    paid_at          timestamptz,
    -- When Ksher last told us about it (an answer or a notification).
    checked_at       timestamptz,
    notified_at      timestamptz,
    -- Where the row came from first: link, lookup, notification, sync, seed.
    source           text        NOT NULL,
    raw              jsonb,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_mid_mch_order_no_key UNIQUE (mid, mch_order_no),
    CONSTRAINT orders_refunded_le_amount CHECK (refunded <= amount)
);
-- Lookups by any id, across mids.
CREATE INDEX orders_mch_order_no_idx ON orders (mch_order_no text_pattern_ops); -- = and prefix LIKE
CREATE INDEX orders_ksher_order_no_idx ON orders (ksher_order_no) WHERE ksher_order_no <> '';
CREATE INDEX orders_channel_order_no_idx ON orders (channel_order_no) WHERE channel_order_no <> '';
CREATE INDEX orders_gateway_order_no_idx ON orders (gateway_order_no) WHERE gateway_order_no <> '';
-- Lists: newest first per mid, with keyset pagination on (created_at, id).
CREATE INDEX orders_mid_created_idx ON orders (mid, created_at DESC, id DESC);
CREATE INDEX orders_mid_status_created_idx ON orders (mid, status, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_mid_amount_idx ON orders (mid, amount DESC, id DESC);
CREATE INDEX orders_amount_idx ON orders (amount DESC, id DESC);
-- Drift: non-final orders and paid orders without a notification.
CREATE INDEX orders_open_idx ON orders (created_at) WHERE status IN ('pending', 'not_sure', 'unknown');

CREATE TABLE refunds (
    id                bigserial   PRIMARY KEY,
    order_id          bigint      NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    mid               text        NOT NULL,
    mch_refund_no     text        NOT NULL,
    ksher_refund_no   text        NOT NULL DEFAULT '',
    channel_refund_no text        NOT NULL DEFAULT '',
    amount            bigint      NOT NULL CHECK (amount > 0),
    currency          text        NOT NULL DEFAULT 'THB',
    -- pending -> succeeded / failed / unknown
    status            text        NOT NULL,
    reason            text        NOT NULL DEFAULT '',
    created_by        bigint      REFERENCES users (id),
    error             text        NOT NULL DEFAULT '',
    raw               jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_mid_mch_refund_no_key UNIQUE (mid, mch_refund_no)
);
CREATE INDEX refunds_order_id_idx ON refunds (order_id);
CREATE INDEX refunds_mch_refund_no_idx ON refunds (mch_refund_no);
CREATE INDEX refunds_ksher_refund_no_idx ON refunds (ksher_refund_no) WHERE ksher_refund_no <> '';
CREATE INDEX refunds_channel_refund_no_idx ON refunds (channel_refund_no) WHERE channel_refund_no <> '';

-- Each order's timeline: created, paid, refunds, notifications, gateway calls.
CREATE TABLE order_events (
    id         bigserial   PRIMARY KEY,
    order_id   bigint      NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    kind       text        NOT NULL,
    summary    text        NOT NULL DEFAULT '',
    ok         boolean     NOT NULL DEFAULT true,
    latency_ms integer,
    detail     jsonb
);
CREATE INDEX order_events_order_idx ON order_events (order_id, created_at, id);

-- Ksher's rule "never two queries of one order within 10 s", for every
-- replica: the key names the account, mid and id asked about.
CREATE TABLE upstream_calls (
    key       text        PRIMARY KEY,
    called_at timestamptz NOT NULL,
    found     boolean     NOT NULL DEFAULT false
);

-- Every notification received, valid or not, exactly as it came.
CREATE TABLE notifications (
    id           bigserial   PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    account_id   bigint      REFERENCES merchant_accounts (id) ON DELETE SET NULL,
    api_kind     text        NOT NULL DEFAULT '',
    valid        boolean     NOT NULL,
    error        text        NOT NULL DEFAULT '',
    mid          text        NOT NULL DEFAULT '',
    mch_order_no text        NOT NULL DEFAULT '',
    method       text        NOT NULL DEFAULT '',
    url          text        NOT NULL DEFAULT '',
    body         text        NOT NULL DEFAULT '',
    order_id     bigint      REFERENCES orders (id) ON DELETE SET NULL,
    changed      boolean     NOT NULL DEFAULT false,
    digest       text        NOT NULL DEFAULT ''
);
CREATE INDEX notifications_received_idx ON notifications (received_at DESC, id DESC);
CREATE INDEX notifications_mid_idx ON notifications (mid, received_at DESC);
CREATE INDEX notifications_order_idx ON notifications (order_id);

-- The background sync of each mid's daily transactions (vip), resumable.
CREATE TABLE sync_jobs (
    id           bigserial   PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES merchant_accounts (id) ON DELETE CASCADE,
    mid          text        NOT NULL,
    day          date        NOT NULL,
    status       text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    next_offset  integer     NOT NULL DEFAULT 0,
    total        integer,
    fetched      integer     NOT NULL DEFAULT 0,
    error        text        NOT NULL DEFAULT '',
    attempts     integer     NOT NULL DEFAULT 0,
    heartbeat_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sync_jobs_mid_day_key UNIQUE (mid, day)
);
CREATE INDEX sync_jobs_status_idx ON sync_jobs (status, updated_at);

CREATE TABLE saved_views (
    id         bigserial   PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    query      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saved_views_user_name_key UNIQUE (user_id, name)
);
