package dev.kiln.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * A one-shot command skips Flyway only when the schema holds exactly the shipped migrations with
 * Flyway's own checksums: the checksum Kiln computes must be Flyway's (else the skip never happens),
 * and any difference leaves the work to Flyway.
 */
class MigrationSkipIT {

    @Test
    void aCurrentSchemaIsRecognisedAndAnyDifferenceSendsItBackToFlyway(@TempDir Path dir) {
        try (Database db = Database.open(new Database.Settings(null, null, null), dir, 2)) {
            assertThat(Database.current(db.dataSource())).as("no history table yet").isFalse();
            db.migrate();
            assertThat(Database.current(db.dataSource())).as("Kiln's checksums are Flyway's").isTrue();
            Database.Settings su = db.superuser();
            JdbcClient owner = JdbcClient.create(new DriverManagerDataSource(su.url(), su.username(), su.password()));
            int rows = owner.sql("SELECT count(*) FROM flyway_schema_history WHERE version IS NOT NULL").query(Integer.class).single();
            assertThat(rows).isGreaterThanOrEqualTo(12);

            // a migration edited after it was applied: Flyway must see it (and refuses it on validation)
            owner.sql("UPDATE flyway_schema_history SET checksum = checksum + 1 WHERE version = '6'").update();
            assertThat(Database.current(db.dataSource())).isFalse();
            owner.sql("UPDATE flyway_schema_history SET checksum = checksum - 1 WHERE version = '6'").update();
            assertThat(Database.current(db.dataSource())).isTrue();

            // a failed migration, or one this jar ships that the schema lacks
            owner.sql("UPDATE flyway_schema_history SET success = false WHERE version = '13'").update();
            assertThat(Database.current(db.dataSource())).isFalse();
            owner.sql("UPDATE flyway_schema_history SET success = true WHERE version = '13'").update();
            assertThat(Database.current(db.dataSource())).isTrue();
            // a schema migrated by a newer jar than this one: not this jar's schema
            owner.sql("""
                    INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success)
                    VALUES (999, '99', 'from a newer Kiln', 'SQL', 'V99__newer.sql', 1, 'kiln', 1, true)""").update();
            assertThat(Database.current(db.dataSource())).isFalse();
        }
    }
}
