-- Drift page: a person can settle "paid, but no notification". A re-sync
-- from the drift page that hears Ksher say the order is paid, with the
-- amount the cache holds, records when; the order then leaves that list.
-- The missing notification stays a fact (notified_at stays empty): only
-- the question "is it really paid?" is answered.
--
-- Alone in its file: a nullable column without a default is a change of the
-- catalog only, and the ACCESS EXCLUSIVE lock it takes (reads of orders
-- wait) ends with this file's transaction, before the index work of 0009.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS paid_confirmed_at timestamptz;
