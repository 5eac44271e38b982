-- Tamper evidence for the audit trail. Each row carries its place in the chain (seq, from 1 without
-- gaps), the hash of the row before it and its own hash over its contents and that link; audit_head
-- holds the end of the chain. A changed or removed row breaks the chain at that row, removing the
-- newest rows shows against the head; 'kiln audit verify' recomputes every hash. A trigger owned by
-- the schema owner links each new row: the service role can neither write audit_head nor choose the
-- links, the time or the place in the chain.

-- sha256 over a length-prefixed text of every field, so no two different rows hash alike
-- (dev.kiln.history.AuditChain computes the same)
CREATE FUNCTION kiln_audit_hash(seq bigint, id bigint, at timestamptz, actor text, action text, subject text, detail jsonb,
                                prev_hash text) RETURNS text LANGUAGE sql STABLE STRICT AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\n', 'kiln-audit-v1', seq, id, (extract(epoch FROM at) * 1000000)::bigint,
        octet_length(convert_to(actor, 'UTF8')) || ':' || actor,
        octet_length(convert_to(action, 'UTF8')) || ':' || action,
        octet_length(convert_to(subject, 'UTF8')) || ':' || subject,
        octet_length(convert_to(detail::text, 'UTF8')) || ':' || detail::text,
        prev_hash), 'UTF8')), 'hex')
$$;

CREATE TABLE audit_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_seq  bigint NOT NULL,
    last_id   bigint,
    last_hash text NOT NULL
);

ALTER TABLE audit ADD COLUMN seq bigint, ADD COLUMN prev_hash text, ADD COLUMN hash text;

-- the rows written so far, chained in the order they were written
ALTER TABLE audit DISABLE TRIGGER audit_append_only;
DO $$
DECLARE
    r record;
    n bigint := 0;
    prev text := repeat('0', 64);
    h text;
    last bigint;
BEGIN
    FOR r IN SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id LOOP
        n := n + 1;
        h := kiln_audit_hash(n, r.id, r.at, r.actor, r.action, r.subject, r.detail, prev);
        UPDATE audit SET seq = n, prev_hash = prev, hash = h WHERE id = r.id;
        prev := h;
        last := r.id;
    END LOOP;
    INSERT INTO audit_head (last_seq, last_id, last_hash) VALUES (n, last, prev);
END
$$;
ALTER TABLE audit ENABLE TRIGGER audit_append_only;
ALTER TABLE audit ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX audit_chain_order ON audit (seq);

-- The head's row lock makes writers take their turn, in chain order, until they commit. Entries are
-- bounded here too, so no request can grow the trail without limit.
CREATE FUNCTION kiln_audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    head audit_head%ROWTYPE;
BEGIN
    IF char_length(NEW.actor) > 300 OR char_length(NEW.action) > 100 OR char_length(NEW.subject) > 600
       OR octet_length(NEW.detail::text) > 65536 THEN
        RAISE EXCEPTION 'audit: an entry''s actor, action, subject or detail is over its bound';
    END IF;
    SELECT * INTO head FROM audit_head FOR UPDATE;
    NEW.at := now();
    NEW.seq := head.last_seq + 1;
    NEW.prev_hash := head.last_hash;
    NEW.hash := kiln_audit_hash(NEW.seq, NEW.id, NEW.at, NEW.actor, NEW.action, NEW.subject, NEW.detail, NEW.prev_hash);
    UPDATE audit_head SET last_seq = NEW.seq, last_id = NEW.id, last_hash = NEW.hash;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION kiln_audit_chain();
CREATE TRIGGER audit_head_append_only BEFORE DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();

DO $$
DECLARE
    app text := '${app_role}';
BEGIN
    -- a definer's function resolves names in this schema only (no object of the caller's can stand in)
    EXECUTE format('ALTER FUNCTION kiln_audit_chain() SET search_path = pg_catalog, %I, pg_temp', current_schema());
    REVOKE ALL ON FUNCTION kiln_audit_chain() FROM PUBLIC;
    IF app <> current_user THEN
        -- the default privileges gave the new table INSERT and UPDATE: only the chain trigger writes it
        EXECUTE format('REVOKE INSERT, UPDATE ON audit_head FROM %I', app);
    END IF;
END
$$;
