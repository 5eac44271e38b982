package dev.kiln.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * Kiln's PostgreSQL: the server named by {@code spring.datasource.url}, or with none configured the
 * embedded one under the data directory. The schema comes from the Flyway migrations in
 * {@code db/migration}.
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

    /** A configured server; {@code url} null or blank means the embedded default. */
    public record Settings(String url, String username, String password) {
        public boolean embedded() {
            return url == null || url.isBlank();
        }
    }

    /** Connects (starting the embedded server when nothing else is configured) without migrating. */
    public static Database open(Settings settings, Path dataDir, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("kiln");
        config.setMaximumPoolSize(poolSize);
        failFast(config);
        EmbeddedPostgres embedded = null;
        if (settings.embedded()) {
            embedded = EmbeddedPostgres.start(dataDir.resolve("postgres"), binaryCache());
            config.setJdbcUrl(embedded.jdbcUrl());
            config.setUsername(EmbeddedPostgres.USER);
            config.setPassword(embedded.password());
        } else {
            config.setJdbcUrl(settings.url());
            config.setUsername(settings.username());
            config.setPassword(settings.password());
        }
        try {
            return new Database(new HikariDataSource(config), embedded,
                    new Settings(config.getJdbcUrl(), config.getUsername(), config.getPassword()));
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
        migrate(dataSource, null);
        return this;
    }

    /** Migrates to {@code target} (a version such as "1"), or to the newest when null. */
    public static void migrate(DataSource dataSource, String target) {
        var config = Flyway.configure().dataSource(dataSource).locations("classpath:db/migration");
        if (target != null) {
            config.target(target);
        }
        config.load().migrate();
    }

    /** Where it actually connects (for the embedded server: its port and generated password). */
    public Settings settings() {
        return settings;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
        if (embedded != null) {
            embedded.close();
        }
    }

    /** Unpacked server binaries are shared by every data directory of this user. */
    private static Path binaryCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln");
    }
}
