-- The budget of live Ksher lookups (models/lookup_budget.go): how many
-- searches reached Ksher in the current fixed window, per person (scope
-- 'person', subject = users.id) and per merchant account (scope 'account',
-- subject = merchant_accounts.id). One row per subject: a new window resets
-- the row in place, so the table never holds more rows than people and
-- accounts and needs no cleanup. Kept in Postgres so every replica counts
-- against the same budget.
CREATE TABLE lookup_budgets (
    scope        text        NOT NULL CHECK (scope IN ('person', 'account')),
    subject      bigint      NOT NULL,
    window_start timestamptz NOT NULL,
    spent        integer     NOT NULL CHECK (spent >= 0),
    PRIMARY KEY (scope, subject)
);
