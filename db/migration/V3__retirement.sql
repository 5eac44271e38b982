-- Retirement, pins and the ECR scan gate.

-- a build whose image has findings at or above the gate's severity: published, never approved
ALTER TABLE build DROP CONSTRAINT build_status_check;
ALTER TABLE build ADD CONSTRAINT build_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'up-to-date', 'failed', 'quarantined'));
ALTER TABLE build ADD COLUMN scan jsonb;            -- the scan gate's result: status, severity counts, findings

-- pins keep an image whatever the retention policy says; unpinning ends a pin, it never erases it
CREATE TABLE pin (
    id           bigserial PRIMARY KEY,
    image_tag_id bigint NOT NULL REFERENCES image_tag (id),
    pinned_at    timestamptz NOT NULL DEFAULT now(),
    pinned_by    text NOT NULL,
    reason       text NOT NULL,
    unpinned_at  timestamptz,
    unpinned_by  text,
    unpin_reason text
);
CREATE UNIQUE INDEX pin_one_active ON pin (image_tag_id) WHERE unpinned_at IS NULL;

-- a retirement is written before the image is deleted and marked done after, so a crash in between
-- is visible (done_at IS NULL) and the next run finishes it, or cancels it if the policy now keeps it
CREATE TABLE retirement (
    id           bigserial PRIMARY KEY,
    image_tag_id bigint NOT NULL REFERENCES image_tag (id),
    planned_at   timestamptz NOT NULL DEFAULT now(),
    planned_by   text NOT NULL,
    reason       text NOT NULL,
    done_at      timestamptz,
    cancelled_at timestamptz,                       -- left undone, and the policy now keeps the image
    error        text
);
CREATE UNIQUE INDEX retirement_one_per_tag ON retirement (image_tag_id) WHERE cancelled_at IS NULL;

CREATE TRIGGER pin_append_only BEFORE DELETE ON pin FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER retirement_append_only BEFORE DELETE ON retirement FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER pin_no_truncate BEFORE TRUNCATE ON pin FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER retirement_no_truncate BEFORE TRUNCATE ON retirement FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
