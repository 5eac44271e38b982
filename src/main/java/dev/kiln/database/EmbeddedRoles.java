package dev.kiln.database;

import dev.kiln.SecretFile;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The two roles of the embedded server, made by its bootstrap superuser: {@code kiln_owner} owns the
 * database and runs the migrations, {@code kiln_app} is what the service and the commands connect as,
 * with only the grants the migrations give it. Neither is a superuser, so neither can switch triggers
 * off with {@code session_replication_role}; only the owner can alter or disable them. Idempotent: run
 * at every start, it also hands over to the owner what a Kiln before these roles created as superuser.
 */
final class EmbeddedRoles {

    static final String OWNER = "kiln_owner";
    static final String APP = "kiln_app";

    private EmbeddedRoles() {
    }

    record Credentials(String ownerPassword, String appPassword) {
    }

    static Credentials ensure(String url, String superuser, String superuserPassword, Path home) {
        String ownerPassword = SecretFile.readOrCreate(home.resolve("owner-password"), 24);
        String appPassword = SecretFile.readOrCreate(home.resolve("app-password"), 24);
        try (Connection c = DriverManager.getConnection(url, superuser, superuserPassword); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            // a CLI command and the service may start on the same cluster at once
            s.execute("SELECT pg_advisory_xact_lock(7042002)");
            role(s, OWNER, ownerPassword);
            role(s, APP, appPassword);
            s.execute("ALTER DATABASE " + EmbeddedPostgres.DATABASE + " OWNER TO " + OWNER);
            s.execute("REVOKE ALL ON DATABASE " + EmbeddedPostgres.DATABASE + " FROM PUBLIC");
            s.execute("GRANT CONNECT ON DATABASE " + EmbeddedPostgres.DATABASE + " TO " + APP);
            s.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
            // objects a Kiln before the owner role created as the superuser (tables first: their sequences follow them)
            s.execute("""
                    DO $$
                    DECLARE r record;
                    BEGIN
                        FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = '%1$s')
                                   AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY c.relkind = 'S', c.relname LOOP
                            EXECUTE format('ALTER %%s public.%%I OWNER TO %2$s', CASE r.relkind WHEN 'S' THEN 'SEQUENCE'
                                WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname);
                        END LOOP;
                        FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                 WHERE n.nspname = 'public' AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = '%1$s') LOOP
                            EXECUTE format('ALTER FUNCTION %%s OWNER TO %2$s', r.f);
                        END LOOP;
                    END
                    $$""".formatted(superuser, OWNER));
            c.commit();
        } catch (SQLException e) {
            throw new IllegalStateException("embedded PostgreSQL: setting up the roles " + OWNER + " and " + APP + ": " + e.getMessage(), e);
        }
        return new Credentials(ownerPassword, appPassword);
    }

    private static void role(Statement s, String name, String password) throws SQLException {
        if (!password.matches("[0-9a-f]+")) {
            throw new IllegalStateException("the generated password of " + name + " is not hex");
        }
        boolean exists;
        try (var rs = s.executeQuery("SELECT 1 FROM pg_roles WHERE rolname = '" + name + "'")) {
            exists = rs.next();
        }
        s.execute((exists ? "ALTER" : "CREATE") + " ROLE " + name
                + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '" + password + "'");
    }
}
