-- The daily sync runs on River (models/sync_service.go): sync_jobs stays the
-- progress row the sync page shows (offset, counts, last error), and the
-- hand-written claim and heartbeat go. River's tables exist by now (Migrate
-- runs River's migrations before ours).
--
-- Each day queued or running becomes a River job of kind sync_day, as
-- Sync.Enqueue would insert it: unique by its sync_job_id among jobs not
-- finished. unique_key is River's: sha256 of "&kind=<kind>&args=<the
-- river:"unique" fields as sorted JSON>"; unique_states is River's bitmask
-- (bit 0 = scheduled ... bit 7 = available) of available, pending,
-- retryable, running and scheduled. models/sync_test.go checks both against
-- River's own insert. A running day's worker (the old hand-written one) is
-- gone with the old binary: the day is queued again and resumes at its
-- committed offset.
INSERT INTO river_job (state, max_attempts, kind, args, unique_key, unique_states)
SELECT 'available', 5, 'sync_day',
       jsonb_build_object('sync_job_id', id, 'mid', mid, 'day', to_char(day, 'YYYY-MM-DD')),
       sha256(convert_to('&kind=sync_day&args={"sync_job_id":' || id || '}', 'UTF8')),
       B'11110001'
FROM sync_jobs
WHERE status IN ('queued', 'running')
ON CONFLICT DO NOTHING;

UPDATE sync_jobs SET status = 'queued', updated_at = now() WHERE status = 'running';

-- attempts now says which River attempt last worked on the day.
ALTER TABLE sync_jobs DROP COLUMN heartbeat_at;
UPDATE sync_jobs SET attempts = 0 WHERE status = 'queued';
DROP INDEX sync_jobs_status_idx;
