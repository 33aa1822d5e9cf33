-- Payment links (issue 12): what we sent Ksher that Ksher does not give
-- back (product, note, customer reference, expiry, who made it), the
-- link's own state, and the order row that Ksher's answers and
-- notifications keep up to date (orders.kind 'gateway' on v3, 'redirect'
-- on vip). Also the per-person form numbers and each mid's channel list.

CREATE TABLE payment_links (
    id               bigserial   PRIMARY KEY,
    account_id       bigint      NOT NULL REFERENCES merchant_accounts (id) ON DELETE CASCADE,
    mid              text        NOT NULL REFERENCES mids (mid) ON DELETE CASCADE,
    -- v3 mch_order_no / vip merchant_order_id: minted with the form, the
    -- idempotency key of the create at Ksher.
    mch_order_no     text        NOT NULL CHECK (length(mch_order_no) BETWEEN 1 AND 32),
    order_id         bigint      REFERENCES orders (id) ON DELETE SET NULL,
    api_kind         text        NOT NULL CHECK (api_kind IN ('v3', 'vip')),
    -- creating: sent (or about to be), Ksher's answer not known yet.
    state            text        NOT NULL CHECK (state IN ('creating', 'available', 'paid', 'expired', 'cancelled', 'failed')),
    amount           bigint      NOT NULL CHECK (amount > 0),
    currency         text        NOT NULL,
    product          text        NOT NULL,
    channels         text        NOT NULL, -- comma list, as sent
    note             text        NOT NULL DEFAULT '',
    customer_ref     text        NOT NULL DEFAULT '',
    success_url      text        NOT NULL,
    fail_url         text        NOT NULL,
    url              text        NOT NULL DEFAULT '', -- the page to send the payer to ('' if Ksher never said)
    expires_at       timestamptz NOT NULL,
    created_by       bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_by_email text        NOT NULL DEFAULT '',
    cloned_from      bigint      REFERENCES payment_links (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz, -- cancelled or expired here
    paid_at          timestamptz,
    -- Closed here but Ksher did not confirm the close (a refused or unclear
    -- cancel, a vip link past its expiry before its DELETE): a payer may
    -- still pay it.
    ksher_may_accept boolean     NOT NULL DEFAULT false,
    -- Drift: paid after we cancelled, expired or failed it (the money is
    -- real; a person must look).
    paid_after_close boolean     NOT NULL DEFAULT false,
    error_code       text        NOT NULL DEFAULT '',
    error            text        NOT NULL DEFAULT '',
    CONSTRAINT payment_links_mid_no_key UNIQUE (mid, mch_order_no)
);
CREATE INDEX payment_links_mid_created_idx ON payment_links (mid, created_at DESC, id DESC);
CREATE INDEX payment_links_order_idx ON payment_links (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_links_due_idx ON payment_links (expires_at) WHERE state = 'available';
CREATE INDEX payment_links_drift_idx ON payment_links (mid, created_at DESC) WHERE paid_after_close;

-- The number of a person's open link form on a mid: a double submit, a
-- second tab or a replayed POST carries the same number and makes one link.
CREATE TABLE link_drafts (
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mid          text        NOT NULL REFERENCES mids (mid) ON DELETE CASCADE,
    mch_order_no text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, mid)
);

-- The channels a mid may offer (v3 merchant_info mch_support_channel, vip
-- finance channels), asked again once older than an hour.
CREATE TABLE mid_channels (
    mid        text        PRIMARY KEY REFERENCES mids (mid) ON DELETE CASCADE,
    channels   jsonb       NOT NULL,
    fetched_at timestamptz NOT NULL
);
