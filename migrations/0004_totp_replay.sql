-- Two-factor sign-in: the last TOTP time step accepted per person, so a code
-- cannot be used twice (RFC 6238 section 5.2), even within its 90-second window.

ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
