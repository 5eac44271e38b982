-- The newest InRelease Date Kiln accepted per archive and suite: no Release older than it is accepted
-- again (a mirror replaying an old, validly signed Release is a rollback). It only moves forward, except
-- by a deliberate re-base, which is kept in archive_rebase with who did it and why.
CREATE TABLE archive_release (
    archive_url  text NOT NULL,
    suite        text NOT NULL,
    newest_date  timestamptz NOT NULL,
    accepted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (archive_url, suite)
);

CREATE TABLE archive_rebase (
    id           bigserial PRIMARY KEY,
    archive_url  text NOT NULL,
    suite        text NOT NULL,
    from_date    timestamptz NOT NULL,
    to_date      timestamptz NOT NULL,
    rebased_by   text NOT NULL,
    reason       text NOT NULL,
    rebased_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER archive_rebase_append_only BEFORE DELETE OR UPDATE ON archive_rebase FOR EACH ROW EXECUTE FUNCTION kiln_append_only();
CREATE TRIGGER archive_rebase_no_truncate BEFORE TRUNCATE ON archive_rebase FOR EACH STATEMENT EXECUTE FUNCTION kiln_append_only();
