-- Signed, attested images: which key signed each build, its signature and attestations as attached
-- (the Sigstore bundles themselves, so the evidence outlives the image and stays verifiable offline),
-- the inputs an independent rebuild needs, and the outcome of each rebuild check.

ALTER TABLE build ADD COLUMN signed boolean NOT NULL DEFAULT false;   -- signed, attested and verified on the target
ALTER TABLE build ADD COLUMN signing_key_id text;                    -- sha256 over the public key's DER; NULL: unsigned
ALTER TABLE build ADD COLUMN stack_definition text;                  -- the stack as canonical JSON: its SHA-256 is stack_digest
ALTER TABLE build ADD COLUMN build_settings jsonb;                   -- settings that shape the image besides the stack

CREATE TABLE evidence (
    id               bigserial PRIMARY KEY,
    build_id         bigint NOT NULL REFERENCES build (id),
    predicate_type   text NOT NULL,        -- https://sigstore.dev/cosign/sign/v1 for the signature itself
    cosign_type      text NOT NULL,        -- what 'cosign verify-attestation --type' takes
    artifact_digest  text NOT NULL,        -- the OCI 1.1 referrer on the target
    bundle_digest    text NOT NULL,        -- the Sigstore bundle (the referrer's layer)
    predicate_digest text NOT NULL,        -- the predicate as signed: an SBOM's or provenance's own digest
    key_id           text NOT NULL,
    bundle           bytea NOT NULL,
    attached_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_build ON evidence (build_id);

-- 'kiln rebuild --verify': the build made again from its recorded inputs in a clean workspace
CREATE TABLE reproduction (
    id             bigserial PRIMARY KEY,
    build_id       bigint NOT NULL REFERENCES build (id),
    instance       text NOT NULL,
    kiln_version   text NOT NULL,
    requested_by   text NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    outcome        text NOT NULL CHECK (outcome IN ('reproduced', 'differs', 'failed')),
    rebuilt_digest text,
    detail         text,
    evidence_id    bigint REFERENCES evidence (id)   -- the attestation attached to the image, when one was
);
CREATE INDEX reproduction_build ON reproduction (build_id);

CREATE TRIGGER evidence_append_only BEFORE DELETE OR UPDATE ON evidence FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER reproduction_append_only BEFORE DELETE OR UPDATE ON reproduction FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER reproduction_no_truncate BEFORE TRUNCATE ON reproduction FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
