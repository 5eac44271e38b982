package dev.kiln.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.history.AuditChain;
import dev.kiln.history.History;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * The embedded PostgreSQL's roles: migrations as {@code kiln_owner}, the service as {@code kiln_app},
 * which cannot switch off, drop or go around the append-only triggers; and a cluster made by a Kiln
 * before these roles (everything owned by the superuser) handed over on the next start.
 */
class DatabaseRolesIT {

    @Test
    void theServiceRoleCannotSwitchOffTheAppendOnlyRule(@TempDir Path dir) {
        try (Database db = Database.open(new Database.Settings(null, null, null), dir, 2).migrate()) {
            assertThat(db.settings().username()).isEqualTo("kiln_app");
            assertThat(db.settings().ownerUsername()).isEqualTo("kiln_owner");
            JdbcClient service = JdbcClient.create(db.dataSource());
            new History(db.dataSource()).audit("api:alice", "tag.pinned", "java:1", Map.of("reason", "hold"));
            assertThat(service.sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").query(Boolean.class).single()).isFalse();

            Map<String, String> refused = Map.ofEntries(
                    Map.entry("ALTER TABLE audit DISABLE TRIGGER USER", "must be owner of table audit"),
                    Map.entry("ALTER TABLE build DISABLE TRIGGER build_append_only", "must be owner of table build"),
                    Map.entry("DROP TRIGGER audit_append_only ON audit", "must be owner of relation audit"),
                    Map.entry("DROP TRIGGER audit_chain ON audit", "must be owner of relation audit"),
                    Map.entry("SET session_replication_role = replica", "permission denied to set parameter \"session_replication_role\""),
                    Map.entry("UPDATE audit SET actor = 'api:mallory'", "permission denied for table audit"),
                    Map.entry("DELETE FROM audit", "permission denied for table audit"),
                    Map.entry("TRUNCATE build CASCADE", "permission denied for table build"),
                    Map.entry("DELETE FROM pin", "permission denied for table pin"),
                    Map.entry("UPDATE audit_head SET last_seq = 0", "permission denied for table audit_head"),
                    Map.entry("CREATE TABLE shadow (id int)", "permission denied for schema public"),
                    Map.entry("CREATE OR REPLACE FUNCTION kiln_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
                            "permission denied for schema public"),
                    Map.entry("SELECT setval('audit_id_seq', 1)", "permission denied for sequence audit_id_seq"));
            refused.forEach((sql, message) -> assertThatThrownBy(() -> service.sql(sql).update()).as(sql).rootCause().hasMessageContaining(message));

            assertThat(Database.privileges(db.dataSource())).isEmpty();
            Database.Settings s = db.settings();
            assertThat(Database.privileges(new DriverManagerDataSource(s.url(), s.ownerUsername(), s.ownerPassword())))
                    .contains("role kiln_owner on audit: DELETE, TRIGGER, TRUNCATE, UPDATE, owns it (ALTER, DISABLE TRIGGER)");
            Database.Settings su = db.superuser();
            assertThat(Database.privileges(new DriverManagerDataSource(su.url(), su.username(), su.password())))
                    .startsWith("role kiln is a superuser");
            assertThat(new AuditChain(db.dataSource()).verify().intact()).isTrue();
        }
    }

    @Test
    void aTableALaterMigrationCreatesGetsTheServiceGrantsByDefault(@TempDir Path dir) {
        try (Database db = Database.open(new Database.Settings(null, null, null), dir, 2).migrate()) {
            Database.Settings s = db.settings();
            JdbcClient owner = JdbcClient.create(new DriverManagerDataSource(s.url(), s.ownerUsername(), s.ownerPassword()));
            owner.sql("CREATE TABLE webhook (id bigserial PRIMARY KEY, url text NOT NULL)").update();
            JdbcClient service = JdbcClient.create(db.dataSource());
            long id = service.sql("INSERT INTO webhook (url) VALUES ('http://x') RETURNING id").query(Long.class).single();
            assertThat(service.sql("UPDATE webhook SET url = 'http://y' WHERE id = ?").param(id).update()).isEqualTo(1);
            assertThat(service.sql("SELECT url FROM webhook").query(String.class).single()).isEqualTo("http://y");
            assertThatThrownBy(() -> service.sql("DELETE FROM webhook").update()).rootCause().hasMessageContaining("permission denied for table webhook");
        }
    }

    @Test
    void aClusterWhoseTablesTheSuperuserOwnsIsHandedToTheOwnerRole(@TempDir Path dir) {
        long build;
        try (Database first = Database.open(new Database.Settings(null, null, null), dir, 2)) {
            // a Kiln before the roles: migrated and wrote as the bootstrap superuser
            Database.Settings su = first.superuser();
            DriverManagerDataSource legacy = new DriverManagerDataSource(su.url(), su.username(), su.password());
            Flyway.configure().dataSource(legacy).locations("classpath:db/migration").target("3").load().migrate();
            JdbcClient old = JdbcClient.create(legacy);
            old.sql("INSERT INTO stack (name) VALUES ('java')").update();
            build = old.sql("""
                    INSERT INTO build (stack, trigger, triggered_by, kiln_version, status) VALUES ('java', 'api', 'api:ops', '0.1', 'succeeded')
                    RETURNING id""").query(Long.class).single();
            old.sql("INSERT INTO audit (actor, action, subject) VALUES ('api:ops', 'build.requested', 'java')").update();
            assertThat(old.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'kiln'").query(Long.class).single())
                    .isGreaterThan(15);
        }
        try (Database again = Database.open(new Database.Settings(null, null, null), dir, 2).migrate()) {
            JdbcClient service = JdbcClient.create(again.dataSource());
            assertThat(service.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").query(String.class).list())
                    .containsExactly("kiln_owner");
            assertThat(service.sql("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
                    + "AND pg_get_userbyid(p.proowner) <> 'kiln_owner'").query(Long.class).single()).isZero();
            History history = new History(again.dataSource());
            assertThat(history.build(build)).isPresent();
            assertThat(history.open(new History.Request("java", "api", "api:ops", null, "0.2", null), true, "i").joined()).isFalse();
            assertThat(Database.privileges(again.dataSource())).isEmpty();
            AuditChain.Verification chain = new AuditChain(again.dataSource()).verify();
            assertThat(chain.intact()).isTrue();
            assertThat(chain.rows()).isEqualTo(2);
            assertThat(service.sql("SELECT action FROM audit ORDER BY seq").query(String.class).list())
                    .isEqualTo(List.of("build.requested", "build.requested"));
        }
    }
}
