-- Merchant accounts and their sub-merchants (mids), per-mid roles with
-- support limits, two-factor sign-in, and the append-only audit log.

CREATE TABLE merchant_accounts (
    id                      bigserial   PRIMARY KEY,
    name                    text        NOT NULL,
    api_kind                text        NOT NULL CHECK (api_kind IN ('v3', 'vip')),
    base_url                text        NOT NULL,
    gateway_base_url        text        NOT NULL DEFAULT '',
    sandbox                 boolean     NOT NULL DEFAULT false,
    time_zone               text        NOT NULL DEFAULT 'Asia/Bangkok',
    -- AES-GCM sealed JSON of the secrets (tokens, private keys); never shown back.
    credentials             bytea,
    credentials_fingerprint text        NOT NULL DEFAULT '',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX merchant_accounts_name_key ON merchant_accounts (lower(name));

-- Ksher mids (v3 appids) are unique across Ksher, so the mid is the key.
CREATE TABLE mids (
    mid        text        PRIMARY KEY CHECK (mid ~ '^[A-Za-z0-9_-]{1,32}$'),
    account_id bigint      NOT NULL REFERENCES merchant_accounts (id) ON DELETE CASCADE,
    name       text        NOT NULL DEFAULT '',
    currency   text        NOT NULL DEFAULT 'THB',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mids_account_id_idx ON mids (account_id);

-- Memberships now point at real mids (NOT VALID: rows made before accounts
-- existed are left alone; every new row is checked).
ALTER TABLE memberships
    ADD CONSTRAINT memberships_mid_fkey FOREIGN KEY (mid) REFERENCES mids (mid) ON DELETE CASCADE NOT VALID,
    -- Support limits, like Ksher's cashier rights: a cap per refund (minor
    -- units, NULL = none) and refunds of same-day orders only.
    ADD COLUMN refund_cap bigint CHECK (refund_cap IS NULL OR refund_cap >= 0),
    ADD COLUMN same_day_only boolean NOT NULL DEFAULT false;
CREATE INDEX memberships_mid_idx ON memberships (mid);

ALTER TABLE users
    ADD COLUMN last_mid text NOT NULL DEFAULT '',
    ADD COLUMN totp_secret bytea,
    ADD COLUMN totp_enabled_at timestamptz;

CREATE TABLE recovery_codes (
    user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text        NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint,
    actor_email text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    target      text        NOT NULL DEFAULT '',
    mid         text        NOT NULL DEFAULT '',
    ip          text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    details     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at DESC);
CREATE INDEX audit_log_mid_idx ON audit_log (mid, created_at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, created_at DESC);

-- Append-only: the database itself refuses to change or remove an entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
