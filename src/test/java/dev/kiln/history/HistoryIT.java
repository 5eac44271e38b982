package dev.kiln.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.database.Database;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The schema and the history on a real PostgreSQL (the embedded server Kiln runs by default): the
 * migrations from empty and from the previous version, the append-only rule, and the build lifecycle.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HistoryIT {

    private Database server;
    private JdbcClient admin;

    @BeforeAll
    void start(@TempDir Path dir) {
        server = Database.open(new Database.Settings(null, null, null), dir, 4);
        admin = JdbcClient.create(server.dataSource());
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** A fresh database on the server, so each test starts from empty. */
    private Database fresh(String name) {
        admin.sql("CREATE DATABASE " + name).update();
        Database.Settings s = server.settings();
        return Database.open(new Database.Settings(s.url().replaceFirst("/kiln$", "/" + name), s.username(), s.password()), null, 2);
    }

    @Test
    void migratesFromEmptyToTheNewestVersion() {
        try (Database db = fresh("from_empty")) {
            db.migrate();
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            assertThat(jdbc.sql("SELECT max(version::int) FROM flyway_schema_history").query(Integer.class).single()).isEqualTo(10);
            List<String> tables = jdbc.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").query(String.class).list();
            assertThat(tables).contains("stack", "build", "image_tag", "audit", "qrtz_triggers", "qrtz_scheduler_state", "evidence", "reproduction");
            // a second start finds nothing to do
            assertThat(Flyway.configure().dataSource(db.dataSource()).locations("classpath:db/migration").load().migrate().migrationsExecuted)
                    .isZero();
        }
    }

    @Test
    void migratesFromThePreviousVersionKeepingItsHistory() {
        try (Database db = fresh("from_previous")) {
            Database.migrate(db.dataSource(), "2");
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            jdbc.sql("INSERT INTO stack (name, definition_digest) VALUES ('java', 'sha256:d')").update();
            long id = jdbc.sql("""
                    INSERT INTO build (stack, trigger, triggered_by, kiln_version, status, image_digest, finished_at)
                    VALUES ('java', 'schedule', 'quartz', '0.0.9', 'succeeded', 'sha256:abc', now()) RETURNING id""")
                    .query(Long.class).single();
            db.migrate();
            History history = new History(db.dataSource());
            assertThat(history.build(id)).hasValueSatisfying(b -> {
                assertThat(b.stack()).isEqualTo("java");
                assertThat(b.imageDigest()).isEqualTo("sha256:abc");
                assertThat(b.kilnVersion()).isEqualTo("0.0.9");
            });
            assertThat(jdbc.sql("SELECT count(*) FROM qrtz_locks").query(Long.class).single()).isZero();
        }
    }

    @Test
    void historyIsAppendOnly() {
        try (Database db = fresh("append_only")) {
            db.migrate();
            History history = new History(db.dataSource());
            History.Ticket t = history.open(request("java"), true, "i1");
            history.audit("alice", "pin", "java", Map.of("why", "test"));
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            assertThatThrownBy(() -> jdbc.sql("DELETE FROM build WHERE id = ?").param(t.id()).update())
                    .hasMessageContaining("kiln history is append-only: DELETE on build is not allowed");
            assertThatThrownBy(() -> jdbc.sql("UPDATE audit SET actor = 'mallory'").update())
                    .hasMessageContaining("append-only: UPDATE on audit");
            assertThatThrownBy(() -> jdbc.sql("TRUNCATE stack CASCADE").update()).hasMessageContaining("append-only: TRUNCATE");
            assertThatThrownBy(() -> jdbc.sql("DELETE FROM stack").update()).hasMessageContaining("append-only");
            assertThat(history.build(t.id())).isPresent();
        }
    }

    @Test
    void aStackHasOneActiveBuildAndASecondRequestJoinsIt() {
        try (Database db = fresh("joining")) {
            db.migrate();
            History history = new History(db.dataSource());
            History.Ticket first = history.open(request("java"), false, "i1");
            History.Ticket second = history.open(request("java"), true, "i2");
            assertThat(first.joined()).isFalse();
            assertThat(second).isEqualTo(new History.Ticket(first.id(), true));
            assertThat(history.open(request("python3"), true, "i2").joined()).as("other stacks are independent").isFalse();
            assertThat(history.start(first.id(), "i2")).isTrue();
            assertThat(history.start(first.id(), "i3")).as("started once").isFalse();
            history.failed(first.id(), "broken");
            History.Ticket third = history.open(request("java"), true, "i1");
            assertThat(third.joined()).isFalse();
            assertThat(third.id()).isGreaterThan(first.id());
        }
    }

    @Test
    void aBuildWhoseInstanceStoppedReportingIsMarkedFailed() {
        try (Database db = fresh("stale")) {
            db.migrate();
            History history = new History(db.dataSource());
            long alive = history.open(request("java"), true, "alive").id();
            long dead = history.open(request("cc"), true, "dead").id();
            JdbcClient.create(db.dataSource()).sql("UPDATE build SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?")
                    .param(dead).update();
            assertThat(history.abandonStale(Duration.ofMinutes(2), Duration.ofHours(1))).containsExactly(dead);
            assertThat(history.build(dead)).hasValueSatisfying(b -> {
                assertThat(b.status()).isEqualTo("failed");
                assertThat(b.failureReason()).startsWith("abandoned: instance dead stopped reporting at");
                assertThat(b.finishedAt()).isNotNull();
            });
            assertThat(history.build(alive).orElseThrow().status()).isEqualTo("running");
        }
    }

    @Test
    void anUpToDateBuildPointsAtTheBuildThatMadeTheImage() {
        try (Database db = fresh("good")) {
            db.migrate();
            History history = new History(db.dataSource());
            long made = history.open(request("java"), true, "i").id();
            history.resolved(made, new History.Inputs("sha256:f1", "sha256:s", "sha256:l", "{\"packages\":[]}", "local", "golden/java"));
            history.succeeded(made, new History.Published("sha256:img", "oci:store/golden/java:21-1", "21-1", false, 10, 20,
                    List.of(), 10, Map.of(), List.of(), null, false, null));
            for (int i = 0; i < 2; i++) {
                long tick = history.open(request("java"), true, "i").id();
                history.resolved(tick, new History.Inputs("sha256:f1", "sha256:s", "sha256:l", "{}", "local", "golden/java"));
                history.upToDate(tick, history.lastGood("java", "local").orElseThrow());
            }
            History.Good good = history.lastGood("java", "local").orElseThrow();
            assertThat(good.id()).isEqualTo(made);
            assertThat(good.tag()).isEqualTo("21-1");
            assertThat(good.fingerprint()).isEqualTo("sha256:f1");
            assertThat(history.lastGood("java", "registry.example.com")).isEmpty();
            assertThat(history.stack("java").orElseThrow().currentDigest()).isEqualTo("sha256:img");

            // another Kiln version rebuilds the same image: the tag (recorded by the first build) still counts
            long again = history.open(request("java"), true, "i").id();
            history.resolved(again, new History.Inputs("sha256:f2", "sha256:s", "sha256:l", "{}", "local", "golden/java"));
            history.succeeded(again, new History.Published("sha256:img", "oci:store/golden/java:21-1", "21-1", true, 10, 20,
                    List.of(), 0, Map.of(), List.of(), made, false, null));
            assertThat(history.lastGood("java", "local")).hasValueSatisfying(g -> {
                assertThat(g.id()).isEqualTo(again);
                assertThat(g.fingerprint()).isEqualTo("sha256:f2");
                assertThat(g.tag()).isEqualTo("21-1");
            });
        }
    }

    @Test
    void theCatalogSyncRecordsNewChangedInvalidAndRemovedStacks() {
        try (Database db = fresh("catalog")) {
            db.migrate();
            History history = new History(db.dataSource());
            History.StackState a1 = new History.StackState("a", "sha256:a1", "golden/a", "team");
            History.StackState b1 = new History.StackState("b", "sha256:b1", "golden/b", "team");
            assertThat(history.syncCatalog(List.of(a1, b1), java.util.Set.of("a", "b"), "sync")).containsExactly("a", "b");
            assertThat(history.syncCatalog(List.of(a1, b1), java.util.Set.of("a", "b"), "sync")).isEmpty();
            // b's file is broken now: still in the catalog, not removed
            History.StackState a2 = new History.StackState("a", "sha256:a2", "golden/a", "team");
            assertThat(history.syncCatalog(List.of(a2), java.util.Set.of("a", "b"), "sync @abc")).containsExactly("a");
            assertThat(history.stack("b").orElseThrow().removedAt()).isNull();
            assertThat(history.syncCatalog(List.of(a2), java.util.Set.of("a"), "sync")).isEmpty();
            assertThat(history.stack("b").orElseThrow().removedAt()).isNotNull();
            assertThat(history.audit(0, 10).items()).extracting(e -> e.action() + " " + e.subject())
                    .containsExactly("stack.removed b", "stack.changed a", "stack.added b", "stack.added a");
            assertThat(history.audit(0, 10).items().get(1).actor()).isEqualTo("sync @abc");
        }
    }

    @Test
    void aQuarantinedImageIsRecordedButNeverApproved() {
        try (Database db = fresh("quarantine")) {
            db.migrate();
            History history = new History(db.dataSource());
            long good = history.open(request("java"), true, "i").id();
            history.resolved(good, new History.Inputs("sha256:f1", "sha256:s", "sha256:l", "{}", "ecr:r", "golden/java"));
            history.succeeded(good, new History.Published("sha256:good", "r/golden/java:21-1", "21-1", false, 1, 1, List.of(), 1,
                    Map.of(), List.of(), null, false, null));
            long bad = history.open(request("java"), true, "i").id();
            history.resolved(bad, new History.Inputs("sha256:f2", "sha256:s", "sha256:l", "{}", "ecr:r", "golden/java"));
            history.succeeded(bad, new History.Published("sha256:bad", "r/golden/java:21-2", "21-2", false, 1, 1, List.of(), 1,
                    Map.of(), List.of(), good, true, Map.of("status", "COMPLETE", "severities", Map.of("CRITICAL", 2))));
            assertThat(history.build(bad).orElseThrow().status()).isEqualTo("quarantined");
            assertThat(history.stack("java").orElseThrow().currentDigest()).as("still the approved image").isEqualTo("sha256:good");
            assertThat(history.lastGood("java", "ecr:r").orElseThrow().digest()).isEqualTo("sha256:good");
            assertThat(JdbcClient.create(db.dataSource()).sql("SELECT scan->'severities'->>'CRITICAL' FROM build WHERE id = ?")
                    .param(bad).query(String.class).single()).isEqualTo("2");
        }
    }

    private static History.Request request(String stack) {
        return new History.Request(stack, "manual", "test", null, "dev", null);
    }
}
