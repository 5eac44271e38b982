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
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * The schema and the history on a real PostgreSQL (the embedded server Kiln runs by default): the
 * migrations from empty and from the previous version, the append-only rule, and the build lifecycle.
 * Migrations run as the owner role, the history as the service role, as in the service.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HistoryIT {

    private Database server;
    private JdbcClient admin;

    @BeforeAll
    void start(@TempDir Path dir) {
        server = Database.open(new Database.Settings(null, null, null), dir, 4);
        Database.Settings superuser = server.superuser();
        admin = JdbcClient.create(new DriverManagerDataSource(superuser.url(), superuser.username(), superuser.password()));
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** A fresh database on the server, owned by the owner role, so each test starts from empty. */
    private Database fresh(String name) {
        admin.sql("CREATE DATABASE " + name + " OWNER kiln_owner").update();
        Database.Settings s = server.settings();
        return Database.open(new Database.Settings(s.url().replaceFirst("/kiln$", "/" + name), s.username(), s.password(),
                s.ownerUsername(), s.ownerPassword()), null, 2);
    }

    /** The owner role on the same database: what migrations run as. */
    private static JdbcClient owner(Database db) {
        Database.Settings s = db.settings();
        return JdbcClient.create(new DriverManagerDataSource(s.url(), s.ownerUsername(), s.ownerPassword()));
    }

    /** The newest version among the migrations in db/migration (V7_1 is 7.1). */
    static String newestMigration() {
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("db/migration"))) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.matches("V[0-9_]+__.*\\.sql"))
                    .map(n -> n.substring(1, n.indexOf("__")).replace('_', '.'))
                    .max(java.util.Comparator.comparing(v -> java.util.Arrays.stream(v.split("\\.")).mapToInt(Integer::parseInt).toArray(),
                            java.util.Arrays::compare)).orElseThrow();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void migratesFromEmptyToTheNewestVersion() {
        try (Database db = fresh("from_empty")) {
            db.migrate();
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            assertThat(jdbc.sql("SELECT version FROM flyway_schema_history ORDER BY installed_rank DESC LIMIT 1").query(String.class).single())
                    .as("the newest migration in db/migration").isEqualTo(newestMigration());
            List<String> tables = jdbc.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").query(String.class).list();
            assertThat(tables).contains("stack", "build", "image_tag", "audit", "audit_head", "qrtz_triggers", "qrtz_scheduler_state", "evidence",
                    "reproduction");
            // a second start finds nothing to do, even for a service given only its own role
            assertThat(Flyway.configure().dataSource(db.dataSource()).locations("classpath:db/migration")
                    .placeholders(Database.placeholders(db.dataSource())).load().migrate().migrationsExecuted).isZero();
        }
    }

    @Test
    void migratesFromThePreviousVersionKeepingItsHistory() {
        try (Database db = fresh("from_previous")) {
            db.migrate("3");
            JdbcClient jdbc = owner(db);
            jdbc.sql("INSERT INTO stack (name, definition_digest) VALUES ('java', 'sha256:d')").update();
            long id = jdbc.sql("""
                    INSERT INTO build (stack, trigger, triggered_by, kiln_version, status, image_digest, finished_at)
                    VALUES ('java', 'schedule', 'quartz', '0.0.9', 'succeeded', 'sha256:abc', now()) RETURNING id""")
                    .query(Long.class).single();
            jdbc.sql("INSERT INTO audit (actor, action, subject, detail) VALUES ('sync', 'stack.added', 'java', '{\"d\": \"sha256:d\"}')")
                    .update();
            jdbc.sql("INSERT INTO audit (actor, action, subject) VALUES ('api:ops', 'build.requested', 'java')").update();
            db.migrate();
            History history = new History(db.dataSource());
            assertThat(history.build(id)).hasValueSatisfying(b -> {
                assertThat(b.stack()).isEqualTo("java");
                assertThat(b.imageDigest()).isEqualTo("sha256:abc");
                assertThat(b.kilnVersion()).isEqualTo("0.0.9");
            });
            assertThat(jdbc.sql("SELECT count(*) FROM qrtz_locks").query(Long.class).single()).isZero();
            // the rows written before the chain existed are its first links; new ones follow them
            history.audit("api:ops", "tag.pinned", "java:1", Map.of("reason", "hold"));
            AuditChain.Verification chain = new AuditChain(db.dataSource()).verify();
            assertThat(chain.intact()).as(chain.toString()).isTrue();
            assertThat(chain.rows()).isEqualTo(3);
            assertThat(jdbc.sql("SELECT action FROM audit ORDER BY seq").query(String.class).list())
                    .containsExactly("stack.added", "build.requested", "tag.pinned");
        }
    }

    @Test
    void historyIsAppendOnly() {
        try (Database db = fresh("append_only")) {
            db.migrate();
            History history = new History(db.dataSource());
            History.Ticket t = history.open(request("java"), true, "i1");
            history.audit("alice", "pin", "java", Map.of("why", "test"));
            JdbcClient service = JdbcClient.create(db.dataSource());
            assertThatThrownBy(() -> service.sql("DELETE FROM build WHERE id = ?").param(t.id()).update())
                    .rootCause().hasMessageContaining("permission denied for table build");
            assertThatThrownBy(() -> service.sql("UPDATE audit SET actor = 'mallory'").update())
                    .rootCause().hasMessageContaining("permission denied for table audit");
            assertThatThrownBy(() -> service.sql("TRUNCATE stack CASCADE").update()).rootCause().hasMessageContaining("permission denied for table stack");
            // the owner may alter the tables, but the triggers still refuse it
            JdbcClient jdbc = owner(db);
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

    @Test
    void joinsAndFailedInsertsUseUpNoBuildId() {
        try (Database db = fresh("ids")) {
            db.migrate();
            History history = new History(db.dataSource());
            long first = history.open(request("java"), true, "i1").id();
            for (int i = 0; i < 49; i++) {
                assertThat(history.open(request("java"), false, "i2")).isEqualTo(new History.Ticket(first, true));
            }
            // an insert the schema refuses (no such trigger) rolls back and leaves no gap either
            assertThatThrownBy(() -> history.open(new History.Request("cc", "by-magic", "test", null, "dev", null), true, "i1"))
                    .hasMessageContaining("build_trigger_check");
            history.failed(first, "done");
            assertThat(history.open(request("cc"), true, "i1").id()).isEqualTo(first + 1);
            assertThat(history.open(request("java"), true, "i1").id()).isEqualTo(first + 2);
            assertThat(history.audit(0, 100).items()).filteredOn(e -> e.action().equals("build.requested")).hasSize(3);
        }
    }

    @Test
    void aCancelEndsAQueuedBuildAtOnceAndMarksARunningOneForItsInstance() {
        try (Database db = fresh("cancel")) {
            db.migrate();
            History history = new History(db.dataSource());
            long queued = history.open(request("java"), false, "i1").id();
            assertThat(history.requestCancel(queued, "api:alice", "wrong branch")).hasValue(new History.Cancel(queued, "cancelled", true));
            assertThat(history.start(queued, "i1")).as("a cancelled build never starts").isFalse();

            long running = history.open(request("java"), true, "i1").id();
            assertThat(history.heartbeat(List.of(running))).isEmpty();
            assertThat(history.requestCancel(running, "api:bob", "hangs")).hasValue(new History.Cancel(running, "running", true));
            assertThat(history.requestCancel(running, "api:carol", "again")).hasValue(new History.Cancel(running, "running", false));
            assertThat(history.heartbeat(List.of(running))).containsExactly(running);
            assertThat(history.step(running, "composing")).isTrue();
            history.cancelled(running, "composing");
            assertThat(history.build(running)).hasValueSatisfying(b -> {
                assertThat(b.status()).isEqualTo("cancelled");
                assertThat(b.cancelRequestedBy()).isEqualTo("api:bob");
                assertThat(b.cancelReason()).isEqualTo("hangs");
                assertThat(b.finishedAt()).isNotNull();
            });
            assertThat(history.requestCancel(running, "api:bob", "late")).hasValue(new History.Cancel(running, "cancelled", false));
            assertThat(history.requestCancel(999, "api:bob", "none")).isEmpty();
            assertThat(history.audit(0, 10).items()).extracting(e -> e.actor() + " " + e.action())
                    .containsSubsequence("api:bob build.cancelled", "api:bob build.cancel-requested", "api:alice build.cancelled");
        }
    }

    @Test
    void aPinNamesAnImageByDigestOrByRepositoryAndTagNeverByATagAlone() {
        try (Database db = fresh("pins")) {
            db.migrate();
            History history = new History(db.dataSource());
            // the stack's repository changed: two live images carry the tag 21-20261201.1
            long old = published(history, "golden/java", "21-20261201.1", "sha256:" + "a".repeat(64));
            long moved = published(history, "platform/java", "21-20261201.1", "sha256:" + "b".repeat(64));
            assertThat(history.liveTagsNamed("java", "21-20261201.1")).extracting(History.LiveTag::build).containsExactly(old, moved);

            assertThat(history.pin("java", History.ImageName.tagged("platform/java", "21-20261201.1"), "api:alice", "INC-1"))
                    .singleElement().satisfies(t -> assertThat(t.digest()).isEqualTo("sha256:" + "b".repeat(64)));
            assertThat(history.liveTags("java", History.ImageName.tagged("golden/java", "21-20261201.1")))
                    .singleElement().satisfies(t -> assertThat(t.pin()).isNull());
            assertThatThrownBy(() -> history.pin("java", History.ImageName.digest("sha256:" + "b".repeat(64)), "api:bob", "again"))
                    .hasMessageContaining("platform/java:21-20261201.1 is already pinned (api:alice: INC-1)");
            assertThat(history.pin("java", History.ImageName.digest("sha256:" + "a".repeat(64)), "api:bob", "INC-2")).hasSize(1);
            assertThat(history.pin("java", History.ImageName.digest("sha256:" + "c".repeat(64)), "api:bob", "none")).isEmpty();
            assertThat(history.unpin("java", History.ImageName.digest("sha256:" + "b".repeat(64)), "api:alice", "lifted")).hasSize(1);
            assertThat(history.unpin("java", History.ImageName.digest("sha256:" + "b".repeat(64)), "api:alice", "lifted")).isEmpty();
            assertThat(history.audit(0, 10).items()).extracting(e -> e.action() + " " + e.subject()).containsSubsequence(
                    "tag.unpinned java:sha256:" + "b".repeat(64), "tag.pinned java:sha256:" + "a".repeat(64),
                    "tag.pinned java:platform/java:21-20261201.1");
        }
    }

    @Test
    void theRetentionPolicyIsRememberedForAStackThatLaterLeavesTheCatalog() {
        try (Database db = fresh("policy")) {
            db.migrate();
            History history = new History(db.dataSource());
            History.Policy policy = new History.Policy(3, 14, 0);
            history.syncCatalog(List.of(new History.StackState("a", "sha256:a", "golden/a", "team", policy)), java.util.Set.of("a"), "sync");
            history.syncCatalog(List.of(), java.util.Set.of(), "sync");
            assertThat(history.stack("a").orElseThrow()).satisfies(s -> {
                assertThat(s.removedAt()).isNotNull();
                assertThat(s.policy()).isEqualTo(policy);
                assertThat(s.repository()).isEqualTo("golden/a");
            });
            // a build (the CLI's, say) records the policy it ran with, without touching the definition digest
            history.open(request("b"), true, "i");
            history.remember(new History.StackState("b", null, "golden/b", "team", new History.Policy(5, 0, 30)));
            assertThat(history.stack("b").orElseThrow().policy()).isEqualTo(new History.Policy(5, 0, 30));
            assertThat(history.stack("b").orElseThrow().definitionDigest()).isNull();
        }
    }

    /** A succeeded build of java that published {@code repository:tag} as {@code digest}. */
    @Test
    void aPlatformImagesDigestPinsTheIndexItBelongsTo() {
        try (Database db = fresh("platform_pins")) {
            db.migrate();
            History history = new History(db.dataSource());
            String index = "sha256:" + "1".repeat(64);
            String arm64 = "sha256:" + "2".repeat(64);
            long id = history.open(request("java"), true, "i").id();
            history.resolved(id, new History.Inputs("sha256:f", "sha256:s", "sha256:l", "{}", "registry.example.com", "golden/java"));
            history.succeeded(id, new History.Published(index, "registry.example.com/golden/java:21-1", "21-1", false, 1, 1, List.of(), 1,
                    Map.of(), List.of(), null, false, null, List.of(Map.of("architecture", "amd64", "digest", "sha256:" + "3".repeat(64)),
                    Map.of("architecture", "arm64", "digest", arm64))));
            assertThat(history.stacks()).singleElement().satisfies(s -> assertThat(s.currentPlatforms().valueStream()
                    .map(p -> p.path("architecture").asString() + " " + p.path("digest").asString())).containsExactly(
                    "amd64 sha256:" + "3".repeat(64), "arm64 " + arm64));
            long other = published(history, "golden/java", "21-2", "sha256:" + "4".repeat(64));

            assertThat(history.pin("java", History.ImageName.digest(arm64), "api:alice", "INC-3"))
                    .singleElement().satisfies(t -> {
                        assertThat(t.digest()).isEqualTo(index);
                        assertThat(t.tag()).isEqualTo("21-1");
                    });
            assertThat(history.liveTags("java", History.ImageName.digest(index))).singleElement()
                    .satisfies(t -> assertThat(t.pin()).isEqualTo("api:alice: INC-3"));
            assertThat(history.liveTags("java", History.ImageName.digest("sha256:" + "4".repeat(64)))).singleElement()
                    .satisfies(t -> assertThat(t.build()).isEqualTo(other));
            assertThat(history.pin("java", History.ImageName.digest("sha256:" + "5".repeat(64)), "api:bob", "none")).isEmpty();
            assertThat(history.stacks()).singleElement().satisfies(s -> assertThat(s.currentPlatforms()).isNull());
        }
    }

    private static long published(History history, String repository, String tag, String digest) {
        long id = history.open(request("java"), true, "i").id();
        history.resolved(id, new History.Inputs("sha256:f", "sha256:s", "sha256:l", "{}", "registry.example.com", repository));
        history.succeeded(id, new History.Published(digest, "registry.example.com/" + repository + ":" + tag, tag, false, 1, 1, List.of(), 1,
                Map.of(), List.of(), null, false, null));
        return id;
    }

    private static History.Request request(String stack) {
        return new History.Request(stack, "manual", "test", null, "dev", null);
    }

    @Test
    void theReleaseMemoryOnlyMovesForwardAndKeepsEveryReBase() {
        try (Database db = fresh("release_memory")) {
            db.migrate();
            JdbcReleaseMemory memory = new JdbcReleaseMemory(db.dataSource());
            java.time.Instant day1 = java.time.Instant.parse("2026-11-01T00:00:00Z");
            java.time.Instant day2 = day1.plus(java.time.Duration.ofDays(1));
            assertThat(memory.newest("http://a/debian", "trixie")).isEmpty();
            memory.accepted("http://a/debian", "trixie", day2);
            memory.accepted("http://a/debian", "trixie", day1);
            assertThat(memory.newest("http://a/debian", "trixie")).contains(day2);
            memory.rebased("http://a/debian", "trixie", day2, day1, "cli:alice", "snapshot for an audit");
            assertThat(memory.newest("http://a/debian", "trixie")).contains(day1);
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            assertThat(jdbc.sql("SELECT rebased_by || ': ' || reason FROM archive_rebase").query(String.class).list())
                    .containsExactly("cli:alice: snapshot for an audit");
            // the service role may not delete at all; the owner (who may) meets the append-only trigger
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> jdbc.sql("DELETE FROM archive_rebase").update())
                    .rootCause().hasMessageContaining("permission denied for table archive_rebase");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> owner(db).sql("DELETE FROM archive_rebase").update())
                    .hasMessageContaining("kiln history is append-only: DELETE on archive_rebase is not allowed");
        }
    }

    @Test
    void aReBaseGrantIsOneAtATimePerStackUsedOnceAndNeverDeleted() {
        try (Database db = fresh("rebase_grants")) {
            db.migrate();
            RebaseGrants grants = new RebaseGrants(db.dataSource());
            History history = new History(db.dataSource());
            RebaseGrants.Grant grant = grants.grant("java", "api:alice", "snapshot mirror for INC-42");
            assertThat(grants.open("java")).contains(grant);
            assertThat(grants.open("python")).isEmpty();
            assertThatThrownBy(() -> grants.grant("java", "api:bob", "again"))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("java already has a re-base granted by api:alice at " + grant.at() + " (snapshot mirror for INC-42), not used yet:"
                            + " its next build will use it");
            long build = history.open(request("java"), true, "i1").id();
            java.time.Instant day1 = java.time.Instant.parse("2026-11-01T00:00:00Z");
            List<dev.kiln.debian.DebianArchive.Rebased> moved = List.of(new dev.kiln.debian.DebianArchive.Rebased("http://a/debian", "trixie",
                    day1.plus(java.time.Duration.ofDays(1)), day1));
            assertThat(grants.used(grant, build, moved, 2)).isTrue();
            assertThat(grants.used(grant, build, moved, 2)).as("used once").isFalse();
            assertThat(grants.open("java")).isEmpty();
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            assertThat(jdbc.sql("SELECT actor || ' ' || action || ' ' || subject FROM audit WHERE action LIKE 'stack.rebase%' ORDER BY seq")
                    .query(String.class).list()).containsExactly("api:alice stack.rebase-granted java", "api:alice stack.rebased java");
            assertThat(grants.grant("java", "api:bob", "back to the live archive").by()).isEqualTo("api:bob");
            assertThatThrownBy(() -> jdbc.sql("DELETE FROM rebase_grant").update())
                    .rootCause().hasMessageContaining("permission denied for table rebase_grant");
            assertThatThrownBy(() -> owner(db).sql("DELETE FROM rebase_grant").update())
                    .hasMessageContaining("kiln history is append-only: DELETE on rebase_grant is not allowed");
        }
    }
}
