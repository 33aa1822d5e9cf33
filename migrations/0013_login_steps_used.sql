-- Two-factor sign-in: the code form's signed token (handlers/login_2fa.go) is
-- single-use. Completing the second step records the token's SHA-256 here in
-- the same transaction that accepts the code, so a second POST of the same
-- token fails on any replica. A row is needed only until the token expires.
CREATE TABLE login_steps_used (
    id         text        PRIMARY KEY,  -- hex SHA-256 of the token
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_steps_used_expires_idx ON login_steps_used (expires_at);
