-- The service runs as a role of its own with only the grants it needs; the migrations run as the
-- owner of the schema. Only the owner may alter the tables or disable, drop or replace their triggers,
-- so the append-only rule holds against the service role. ${app_role} is the role the service
-- connects as (Kiln passes it); when it is the owner itself there is nothing to grant.
--
-- Tables later migrations create get SELECT, INSERT and UPDATE for the service role by the default
-- privileges below (never DELETE or TRUNCATE); a migration whose table needs more, or less, says so.

DO $$
DECLARE
    app text := '${app_role}';
    t record;
BEGIN
    IF app = current_user THEN
        RAISE WARNING 'Kiln migrates as its service role %: without a separate owner role the service can alter its own tables', app;
        RETURN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), app);
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'flyway_schema_history' LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO %I', t.tablename, app);
        -- Quartz's job store deletes its own rows (fired triggers, removed jobs); history tables never
        IF t.tablename LIKE 'qrtz\_%' THEN
            EXECUTE format('GRANT DELETE ON %I TO %I', t.tablename, app);
        END IF;
    END LOOP;
    EXECUTE format('REVOKE UPDATE ON audit FROM %I', app);
    EXECUTE format('GRANT SELECT ON flyway_schema_history TO %I', app);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE ON TABLES TO %I', current_schema(), app);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE ON SEQUENCES TO %I', current_schema(), app);
END
$$;
