-- A build that a peer's outage (database, registry, archive) interrupted is retried: trigger 'retry',
-- with recovered_from naming the interrupted build and attempt counting the retries. A running build
-- can be cancelled: the request is recorded on the build (who, when, why) and the build ends
-- 'cancelled' once its instance has stopped it.

ALTER TABLE build DROP CONSTRAINT build_trigger_check;
ALTER TABLE build ADD CONSTRAINT build_trigger_check
    CHECK (trigger IN ('schedule', 'manual', 'api', 'catalog-change', 'recovery', 'retry'));
ALTER TABLE build DROP CONSTRAINT build_status_check;
ALTER TABLE build ADD CONSTRAINT build_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'up-to-date', 'failed', 'quarantined', 'cancelled'));

ALTER TABLE build ADD COLUMN attempt int CHECK (attempt > 0);   -- the retry's number; null for a first try
ALTER TABLE build ADD COLUMN cancel_requested_at timestamptz;
ALTER TABLE build ADD COLUMN cancel_requested_by text;
ALTER TABLE build ADD COLUMN cancel_reason text;
