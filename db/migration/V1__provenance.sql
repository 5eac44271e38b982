-- Kiln's provenance: what every build was made from, what it produced, and who asked for it.
-- History is append-only: rows are never deleted, audit rows are never changed (enforced below).

CREATE TABLE stack (
    name              text PRIMARY KEY,
    first_seen        timestamptz NOT NULL DEFAULT now(),
    last_seen         timestamptz NOT NULL DEFAULT now(),
    removed_at        timestamptz,              -- gone from the catalog; its history stays
    definition_digest text,                     -- the stack definition as last seen
    repository        text,
    owner             text,
    current_build_id  bigint                    -- the approved image: its newest good build
);

CREATE TABLE build (
    id                bigserial PRIMARY KEY,
    stack             text NOT NULL REFERENCES stack (name),
    trigger           text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'api', 'catalog-change', 'recovery')),
    triggered_by      text NOT NULL,
    catalog_revision  text,
    kiln_version      text NOT NULL,
    instance          text,                     -- the Kiln instance that ran it
    requested_at      timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    heartbeat_at      timestamptz,
    status            text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'up-to-date', 'failed')),
    step              text,                     -- progress while running, the last step reached after
    failure_reason    text,
    stack_digest      text,
    lock_digest       text,
    fingerprint       text,
    lock              jsonb,
    target            text,
    repository        text,
    image_digest      text,
    reference         text,
    tags              jsonb NOT NULL DEFAULT '[]',
    compressed_bytes  bigint,
    uncompressed_bytes bigint,
    layers            jsonb,
    bytes_pushed      bigint,
    report            jsonb,
    package_diff      jsonb,
    previous_build_id bigint REFERENCES build (id),
    recovered_from    bigint REFERENCES build (id)
);

-- at most one queued or running build per stack: a second request joins the first
CREATE UNIQUE INDEX build_one_active_per_stack ON build (stack) WHERE status IN ('queued', 'running');
CREATE INDEX build_stack_history ON build (stack, id DESC);

ALTER TABLE stack ADD CONSTRAINT stack_current_build FOREIGN KEY (current_build_id) REFERENCES build (id);

CREATE TABLE image_tag (
    id             bigserial PRIMARY KEY,
    target         text NOT NULL,
    repository     text NOT NULL,
    tag            text NOT NULL,
    digest         text NOT NULL,
    build_id       bigint NOT NULL REFERENCES build (id),
    pushed_at      timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz,
    retired_reason text,
    retired_by     text,
    UNIQUE (target, repository, tag)
);

CREATE TABLE audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_subject ON audit (subject, id DESC);

CREATE FUNCTION kiln_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kiln history is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME;
END
$$;

CREATE TRIGGER stack_append_only BEFORE DELETE ON stack FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER build_append_only BEFORE DELETE ON build FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER image_tag_append_only BEFORE DELETE ON image_tag FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER audit_append_only BEFORE DELETE OR UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER stack_no_truncate BEFORE TRUNCATE ON stack FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER build_no_truncate BEFORE TRUNCATE ON build FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER image_tag_no_truncate BEFORE TRUNCATE ON image_tag FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
