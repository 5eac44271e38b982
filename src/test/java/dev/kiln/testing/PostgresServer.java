package dev.kiln.testing;

import dev.kiln.database.Database;
import java.nio.file.Path;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * One embedded PostgreSQL server (the one Kiln runs by default) for a test class, and empty migrated
 * databases on it: a test whose rows must not meet another's (exact counts, ten thousand builds) takes
 * its own database for the cost of a CREATE DATABASE instead of a new server.
 */
public final class PostgresServer implements AutoCloseable {

    private final Database server;
    private final JdbcClient admin;

    private PostgresServer(Database server) {
        this.server = server;
        Database.Settings superuser = server.superuser();
        this.admin = JdbcClient.create(new DriverManagerDataSource(superuser.url(), superuser.username(), superuser.password()));
    }

    /** Starts a server with its cluster in {@code dir}. */
    public static PostgresServer start(Path dir) {
        return new PostgresServer(Database.open(new Database.Settings(null, null, null), dir, 2));
    }

    /** A new database {@code name}, owned by the owner role and migrated, that the caller closes. */
    public Database fresh(String name) {
        admin.sql("CREATE DATABASE " + name + " OWNER kiln_owner").update();
        Database.Settings s = server.settings();
        return Database.open(new Database.Settings(s.url().replaceFirst("/kiln$", "/" + name), s.username(), s.password(),
                s.ownerUsername(), s.ownerPassword()), null, 2).migrate();
    }

    @Override
    public void close() {
        server.close();
    }
}
