-- A platform user's leave for a stack's next build to go back to older Releases and lower versions (a
-- snapshot mirror of an earlier day), granted through the API with who and why. The build that
-- publishes with it (succeeded or up to date) marks it used; the move itself is kept in
-- archive_rebase (V4) and both steps in the audit trail. Never deleted: a grant is used, not erased.
CREATE TABLE rebase_grant (
    id             bigserial PRIMARY KEY,
    stack          text NOT NULL,
    granted_by     text NOT NULL,
    reason         text NOT NULL,
    granted_at     timestamptz NOT NULL DEFAULT now(),
    used_by_build  bigint REFERENCES build (id),
    used_at        timestamptz
);
CREATE UNIQUE INDEX rebase_grant_one_open ON rebase_grant (stack) WHERE used_at IS NULL;

CREATE TRIGGER rebase_grant_append_only BEFORE DELETE ON rebase_grant FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER rebase_grant_no_truncate BEFORE TRUNCATE ON rebase_grant FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
