package dev.kiln.database;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.flyway.autoconfigure.FlywayConfigurationCustomizer;
import org.springframework.boot.flyway.autoconfigure.FlywayMigrationStrategy;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The service's migrations: as the owner role ({@code spring.flyway.user}, or the embedded server's
 * {@code kiln_owner}), granting the service's own role what it needs. Then, before anything runs, the
 * service's role is checked: one that could switch off the append-only history stops the start unless
 * {@code kiln.database.allow-privileged-role} says otherwise.
 */
@Configuration(proxyBeanMethods = false)
class MigrationConfiguration {

    private static final Logger log = LoggerFactory.getLogger(MigrationConfiguration.class);

    @Bean
    FlywayConfigurationCustomizer kilnMigrations(DataSource dataSource, ObjectProvider<Database> embedded) {
        return configuration -> {
            Database database = embedded.getIfAvailable();
            if (database != null && database.settings().separateOwner()) {
                Database.Settings s = database.settings();
                configuration.dataSource(s.url(), s.ownerUsername(), s.ownerPassword());
            }
            Map<String, String> placeholders = new HashMap<>(configuration.getPlaceholders());
            placeholders.putAll(Database.placeholders(dataSource));
            configuration.placeholders(placeholders);
        };
    }

    @Bean
    FlywayMigrationStrategy migrateThenCheckTheServiceRole(DataSource dataSource, Environment environment) {
        return flyway -> {
            flyway.migrate();
            List<String> privileged = Database.privileges(dataSource);
            if (privileged.isEmpty()) {
                return;
            }
            if (!environment.getProperty("kiln.database.allow-privileged-role", Boolean.class, false)) {
                throw new IllegalStateException("the service's database role can switch off the append-only history ("
                        + String.join("; ", privileged) + "): connect as a role with only Kiln's grants and migrate as the owner "
                        + "(spring.flyway.user; docs/service.md), or set kiln.database.allow-privileged-role=true");
            }
            log.warn("the service's database role can switch off the append-only history: {}", String.join("; ", privileged));
        };
    }
}
