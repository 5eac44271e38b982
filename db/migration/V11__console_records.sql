-- What the console, the evidence export, remediation time and webhooks need recorded (issue 16):
-- each build's stack definition, image config and measured contents, the documents generated for it,
-- when Kiln first saw each package version, and every webhook delivery with its attempts.

-- The stack definition as canonical JSON (its SHA-256 is stack_digest): the definition diff between
-- two builds. The signing migration (V10) adds the same column for independent rebuilds.
ALTER TABLE build ADD COLUMN IF NOT EXISTS stack_definition text;
-- The image config as pushed (user, env, entrypoint, cmd, labels, volumes ...): the config diff.
ALTER TABLE build ADD COLUMN image_config jsonb;
-- The image as measured in the bytes pushed (its layers and config): what the compliance checklist reads.
ALTER TABLE build ADD COLUMN inspection jsonb;

-- A layer's bytes never change, so each layer is measured once, whichever build pushed it first.
CREATE TABLE layer_inspection (
    digest       text PRIMARY KEY,
    inspected_at timestamptz NOT NULL DEFAULT now(),
    result       jsonb NOT NULL
);

-- The documents made for a build (SPDX and CycloneDX SBOMs, SLSA provenance, the rebuild record), gzip
-- compressed, with the SHA-256 of the document itself. Signed builds also carry them as attestations.
CREATE TABLE build_document (
    build_id       bigint NOT NULL REFERENCES build (id),
    kind           text NOT NULL CHECK (kind IN ('spdx', 'cyclonedx', 'provenance', 'rebuild-record')),
    predicate_type text NOT NULL,
    sha256         text NOT NULL,
    size           bigint NOT NULL,
    content        bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (build_id, kind)
);

-- When Kiln first saw a package version in an archive (while resolving any stack, for a build or for the
-- archive watch), with the Date of the Release it was in: the start of its remediation time.
CREATE TABLE package_seen (
    name         text NOT NULL,
    version      text NOT NULL,
    architecture text NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT now(),
    stack        text NOT NULL,
    suite        text,
    release_date timestamptz,
    PRIMARY KEY (name, version, architecture)
);

-- Outgoing webhooks: each configured endpoint from when it was first configured (approvals before that
-- are not sent to it), one delivery per endpoint and approved build, and every attempt.
CREATE TABLE webhook_endpoint (
    name                text PRIMARY KEY,
    url                 text NOT NULL,
    first_configured_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_delivery (
    id              bigserial PRIMARY KEY,
    endpoint        text NOT NULL REFERENCES webhook_endpoint (name),
    event           text NOT NULL,
    build_id        bigint NOT NULL REFERENCES build (id),
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    UNIQUE (endpoint, event, build_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempt (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_delivery (id),
    attempt     int NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    status_code int,
    error       text,
    millis      bigint NOT NULL
);
CREATE INDEX webhook_attempt_delivery ON webhook_attempt (delivery_id);

CREATE INDEX build_finished ON build (finished_at);
CREATE INDEX build_image_digest ON build (image_digest);

-- History stays: no row of these is ever deleted; the write-once ones are never changed either.
CREATE TRIGGER layer_inspection_append_only BEFORE DELETE OR UPDATE ON layer_inspection FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER build_document_append_only BEFORE DELETE OR UPDATE ON build_document FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER package_seen_append_only BEFORE DELETE OR UPDATE ON package_seen FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_endpoint_append_only BEFORE DELETE ON webhook_endpoint FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_delivery_append_only BEFORE DELETE ON webhook_delivery FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_attempt_append_only BEFORE DELETE OR UPDATE ON webhook_attempt FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER layer_inspection_no_truncate BEFORE TRUNCATE ON layer_inspection FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER build_document_no_truncate BEFORE TRUNCATE ON build_document FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER package_seen_no_truncate BEFORE TRUNCATE ON package_seen FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_endpoint_no_truncate BEFORE TRUNCATE ON webhook_endpoint FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_delivery_no_truncate BEFORE TRUNCATE ON webhook_delivery FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER webhook_attempt_no_truncate BEFORE TRUNCATE ON webhook_attempt FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();

-- The default privileges (V5) gave the service role SELECT, INSERT and UPDATE on the new tables; the
-- write-once ones lose UPDATE, as audit did.
DO $$
DECLARE
    app text := '${app_role}';
BEGIN
    IF app <> current_user THEN
        EXECUTE format('REVOKE UPDATE ON layer_inspection, build_document, package_seen, webhook_attempt FROM %I', app);
    END IF;
END
$$;
