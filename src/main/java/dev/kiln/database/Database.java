package dev.kiln.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * Kiln's PostgreSQL: the server named by {@code spring.datasource.url}, or with none configured the
 * embedded one under the data directory. The schema comes from the Flyway migrations in
 * {@code db/migration}, run as the schema's owner role; Kiln itself connects as a service role that
 * the migrations grant only what it needs (the embedded server has both: {@code kiln_owner} and
 * {@code kiln_app}).
 */
public final class Database implements AutoCloseable {

    private final HikariDataSource dataSource;
    private final EmbeddedPostgres embedded;
    private final Settings settings;

    private Database(HikariDataSource dataSource, EmbeddedPostgres embedded, Settings settings) {
        this.dataSource = dataSource;
        this.embedded = embedded;
        this.settings = settings;
    }

    /**
     * A configured server; {@code url} null or blank means the embedded default. {@code username} is the
     * service's role; {@code ownerUsername}, when set, the role migrations run as (Spring's
     * {@code spring.flyway.user}).
     */
    public record Settings(String url, String username, String password, String ownerUsername, String ownerPassword) {
        public Settings(String url, String username, String password) {
            this(url, username, password, null, null);
        }

        public boolean embedded() {
            return url == null || url.isBlank();
        }

        boolean separateOwner() {
            return ownerUsername != null && !ownerUsername.isBlank();
        }
    }

    /** Connects (starting the embedded server when nothing else is configured) without migrating. */
    public static Database open(Settings settings, Path dataDir, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("kiln");
        config.setMaximumPoolSize(poolSize);
        failFast(config);
        EmbeddedPostgres embedded = null;
        Settings effective = settings;
        try {
            if (settings.embedded()) {
                embedded = EmbeddedPostgres.start(dataDir.resolve("postgres"), binaryCache());
                EmbeddedRoles.Credentials roles = EmbeddedRoles.ensure(embedded.jdbcUrl(), EmbeddedPostgres.USER, embedded.password(),
                        dataDir.resolve("postgres"));
                effective = new Settings(embedded.jdbcUrl(), EmbeddedRoles.APP, roles.appPassword(), EmbeddedRoles.OWNER,
                        roles.ownerPassword());
            }
            config.setJdbcUrl(effective.url());
            config.setUsername(effective.username());
            config.setPassword(effective.password());
            return new Database(new HikariDataSource(config), embedded, effective);
        } catch (RuntimeException e) {
            if (embedded != null) {
                embedded.close();
            }
            throw e;
        }
    }

    /**
     * With the database down, callers fail within seconds instead of hanging: a connection is waited for
     * 2.5 s at most, a connect attempt 2 s, a silent socket 60 s (no statement of Kiln's runs that long).
     * The service's pool for a configured server gets the same from application.yaml.
     */
    static void failFast(HikariConfig config) {
        config.setConnectionTimeout(2500);
        config.setValidationTimeout(1000);
        config.addDataSourceProperty("connectTimeout", "2");
        config.addDataSourceProperty("socketTimeout", "60");
        config.addDataSourceProperty("tcpKeepAlive", "true");
    }

    /** Supervises the embedded server (the service does): restarted on its port when it dies. No-op for a configured server. */
    public Database supervise() {
        if (embedded != null) {
            embedded.supervise(java.time.Duration.ofSeconds(1));
        }
        return this;
    }

    /** Brings the schema to the newest migration (what the service's Flyway does at start). */
    public Database migrate() {
        return migrate(null);
    }

    /** Migrates, as the owner role when there is one, to {@code target} (a version such as "1"), or to the newest when null. */
    public Database migrate(String target) {
        if (target == null && current(dataSource)) {
            return this;
        }
        DataSource owner = settings.separateOwner()
                ? new DriverManagerDataSource(settings.url(), settings.ownerUsername(), settings.ownerPassword()) : dataSource;
        var config = Flyway.configure().dataSource(owner).locations("classpath:db/migration").placeholders(placeholders(dataSource));
        if (target != null) {
            config.target(target);
        }
        config.load().migrate();
        return this;
    }

    /**
     * Whether the schema already holds exactly the migrations this jar ships: the same versions, each
     * applied with success and with the checksum Flyway gives the file. A one-shot command then skips
     * Flyway, whose start, scan and validation took 1.1–1.5 s of every {@code kiln} run; anything else
     * (a newer jar, a failed or edited migration, a query that fails) leaves it to Flyway, which migrates
     * or says what is wrong. The service always runs Flyway.
     */
    static boolean current(DataSource dataSource) {
        try {
            Map<String, Integer> shipped = new java.util.TreeMap<>();
            var resolver = new org.springframework.core.io.support.PathMatchingResourcePatternResolver(Database.class.getClassLoader());
            for (var resource : resolver.getResources("classpath*:db/migration/*.sql")) {
                String name = java.util.Objects.requireNonNull(resource.getFilename());
                java.util.regex.Matcher m = MIGRATION.matcher(name);
                if (!m.matches()) {
                    return false;
                }
                try (var in = resource.getInputStream()) {
                    shipped.put(m.group(1).replace('_', '.'), checksum(in));
                }
            }
            Map<String, Integer> applied = new java.util.TreeMap<>();
            boolean[] failed = {false};
            JdbcClient.create(dataSource).sql("SELECT version, checksum, success FROM flyway_schema_history WHERE version IS NOT NULL")
                    .query(rs -> {
                        failed[0] |= !rs.getBoolean("success");
                        applied.put(rs.getString("version"), rs.getInt("checksum"));
                    });
            return !shipped.isEmpty() && !failed[0] && shipped.equals(applied);
        } catch (java.io.IOException | RuntimeException e) {
            return false; // no history table yet, or unreadable: Flyway decides
        }
    }

    private static final java.util.regex.Pattern MIGRATION = java.util.regex.Pattern.compile("V([0-9_]+)__.+\\.sql");

    /**
     * Flyway's checksum of a migration: CRC32 over its lines, each without its line break, a leading
     * byte-order mark dropped (Flyway's ChecksumCalculator). Should it ever differ, Flyway runs: slower, never wrong.
     */
    static int checksum(java.io.InputStream in) throws java.io.IOException {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        var reader = new java.io.BufferedReader(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8), 4096);
        String line = reader.readLine();
        if (line != null && line.startsWith("\uFEFF")) {
            line = line.substring(1);
        }
        for (; line != null; line = reader.readLine()) {
            crc.update(line.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return (int) crc.getValue();
    }

    /**
     * The migrations' placeholders: {@code app_role} is the role {@code service} connects as, the one the
     * migrations grant rows to (the same as the owner's when no separate owner is configured: then they
     * grant nothing).
     */
    public static Map<String, String> placeholders(DataSource service) {
        String role = JdbcClient.create(service).sql("SELECT current_user").query(String.class).single();
        return Map.of("app_role", role);
    }

    /**
     * Why the role {@code service} connects as could switch off or go around the append-only rule:
     * superuser, owner (or member of the owner) of a history table, or holding DELETE, TRUNCATE or
     * TRIGGER on one, or UPDATE on the audit trail. Empty for a role with only the grants the
     * migrations give.
     */
    public static List<String> privileges(DataSource service) {
        JdbcClient jdbc = JdbcClient.create(service);
        List<String> found = new ArrayList<>();
        String role = jdbc.sql("SELECT current_user").query(String.class).single();
        if (jdbc.sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").query(Boolean.class).single()) {
            found.add("role " + role + " is a superuser");
        }
        found.addAll(jdbc.sql("""
                        SELECT c.relname || ': ' || string_agg(p.what, ', ' ORDER BY p.what) FROM pg_class c
                        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
                        CROSS JOIN LATERAL (VALUES
                            (CASE WHEN pg_has_role(current_user, c.relowner, 'MEMBER') THEN 'owns it (ALTER, DISABLE TRIGGER)' END),
                            (CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END),
                            (CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END),
                            (CASE WHEN has_table_privilege(c.oid, 'TRIGGER') THEN 'TRIGGER' END),
                            (CASE WHEN c.relname IN ('audit', 'audit_head') AND has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END)) p(what)
                        WHERE c.relkind = 'r' AND c.relname IN ('stack', 'build', 'image_tag', 'audit', 'audit_head', 'pin', 'retirement')
                          AND p.what IS NOT NULL
                        GROUP BY c.relname ORDER BY c.relname""")
                .query(String.class).list().stream().map(t -> "role " + role + " on " + t).toList());
        return found;
    }

    /**
     * The embedded server's bootstrap superuser, for what only it may do (creating databases in tests,
     * repairs by hand); null for a configured server.
     */
    public Settings superuser() {
        return embedded == null ? null : new Settings(settings.url(), EmbeddedPostgres.USER, embedded.password());
    }

    /** Where it actually connects (for the embedded server: its port and generated password). */
    public Settings settings() {
        return settings;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /**
     * This process exits when its databases are closed ({@code main}): an embedded server it started is
     * left to finish its shutdown checkpoint on its own, and the next start waits for it.
     */
    public static void exitingAfterClose() {
        EmbeddedPostgres.exitingAfterClose();
    }

    @Override
    public void close() {
        dataSource.close();
        if (embedded != null) {
            embedded.close();
        }
    }

    /** Unpacked server binaries are shared by every data directory of this user. */
    static Path binaryCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln");
    }
}
