-- People, their sessions and login attempts: the foundation every page builds on.

CREATE TABLE users (
    id                   bigserial PRIMARY KEY,
    email                text        NOT NULL,
    name                 text        NOT NULL DEFAULT '',
    password_hash        text        NOT NULL,
    -- owner: the account-wide owner who sees every mid and manages accounts and people.
    is_owner             boolean     NOT NULL DEFAULT false,
    must_change_password boolean     NOT NULL DEFAULT false,
    language             text        NOT NULL DEFAULT '',
    time_zone            text        NOT NULL DEFAULT '',
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Roles per sub-merchant (mid). The mids themselves arrive with merchant accounts.
CREATE TABLE memberships (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mid        text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('owner', 'manager', 'finance', 'support', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, mid)
);

-- Sessions live in Postgres so that any replica can serve any request and a
-- restart logs nobody out. id is the SHA-256 of the cookie value: a leaked
-- table does not leak usable cookies.
CREATE TABLE sessions (
    id           text        PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

-- Every login attempt, for throttling per account and per IP.
CREATE TABLE login_attempts (
    id         bigserial   PRIMARY KEY,
    email      text        NOT NULL,
    ip         text        NOT NULL,
    success    boolean     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_idx ON login_attempts (lower(email), created_at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, created_at);
