package dev.kiln.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnApplication;
import dev.kiln.cli.KilnCommandLine;
import dev.kiln.database.Database;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/**
 * The audit trail's hash chain on the embedded PostgreSQL: rows written by concurrent writers form one
 * unbroken chain, and {@code kiln audit verify} names the first broken row after each kind of
 * tampering a database superuser can do (the service's own role cannot do any of it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuditChainIT {

    private Database server;
    private JdbcClient superuser;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path tmp) {
        dir = tmp;
        server = Database.open(new Database.Settings(null, null, null), tmp, 2);
        Database.Settings s = server.superuser();
        superuser = JdbcClient.create(new DriverManagerDataSource(s.url(), s.username(), s.password()));
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private record Trail(Database db, JdbcClient superuser, List<Long> ids) {
    }

    /** A fresh database with 10 audit rows written through History, and a superuser connection to it. */
    private Trail trail(String name) {
        superuser.sql("CREATE DATABASE " + name + " OWNER kiln_owner").update();
        Database.Settings s = server.settings();
        String url = s.url().replaceFirst("/kiln$", "/" + name);
        Database db = Database.open(new Database.Settings(url, s.username(), s.password(), s.ownerUsername(), s.ownerPassword()), null, 2)
                .migrate();
        History history = new History(db.dataSource());
        for (int i = 1; i <= 10; i++) {
            history.audit("api:alice", "tag.pinned", "java:21-" + i, Map.of("reason", "hold " + i));
        }
        Database.Settings su = server.superuser();
        JdbcClient admin = JdbcClient.create(new DriverManagerDataSource(url, su.username(), su.password()));
        return new Trail(db, admin, admin.sql("SELECT id FROM audit ORDER BY seq").query(Long.class).list());
    }

    private record Run(int code, String out, String err) {
    }

    private Run verify(Database db) {
        Database.Settings s = db.settings();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = KilnCommandLine.run(KilnApplication.class, new String[]{"audit", "verify", "--data-dir", dir.resolve("cli").toString(),
                        "--spring.datasource.url=" + s.url(), "--spring.datasource.username=" + s.username(),
                        "--spring.datasource.password=" + s.password(), "--spring.flyway.user=" + s.ownerUsername(),
                        "--spring.flyway.password=" + s.ownerPassword()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** What a superuser can do: switch the append-only trigger off for one statement. */
    private static void tamper(JdbcClient superuser, String sql) {
        superuser.sql("ALTER TABLE audit DISABLE TRIGGER USER").update();
        try {
            superuser.sql(sql).update();
        } finally {
            superuser.sql("ALTER TABLE audit ENABLE TRIGGER USER").update();
        }
    }

    @Test
    void concurrentWritersMakeOneUnbrokenChainInOrder() throws Exception {
        Trail t = trail("concurrent");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (Database db = t.db()) {
            History history = new History(db.dataSource());
            List<Future<?>> writes = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                int writer = w;
                writes.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        history.audit("writer-" + writer, "build.requested", "stack-" + i, Map.of("n", i));
                    }
                }));
            }
            for (Future<?> f : writes) {
                f.get();
            }
            AuditChain.Verification v = new AuditChain(db.dataSource()).verify();
            assertThat(v.intact()).as(v.toString()).isTrue();
            assertThat(v.rows()).isEqualTo(210);
            assertThat(v.headSeq()).isEqualTo(210);
            assertThat(t.superuser().sql("SELECT count(DISTINCT seq) = 210 AND min(seq) = 1 AND max(seq) = 210 FROM audit")
                    .query(Boolean.class).single()).isTrue();
            Run run = verify(db);
            assertThat(run.code()).as(run.err()).isZero();
            assertThat(run.out()).isEqualTo("audit chain intact: 210 rows, seq 1 to 210, head " + v.headHash() + "\n");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aChangedRowIsNamed() {
        Trail t = trail("changed");
        try (Database db = t.db()) {
            long fifth = t.ids().get(4);
            tamper(t.superuser(), "UPDATE audit SET detail = '{\"reason\": \"never pinned\"}' WHERE seq = 5");
            Run run = verify(db);
            assertThat(run.code()).isEqualTo(1);
            assertThat(run.err()).startsWith("audit chain broken at row " + fifth + " (seq 5, ")
                    .contains("api:alice tag.pinned java:21-5): its contents changed after it was written (stored hash ");
            assertThat(run.out()).startsWith("4 rows intact before it; the database records the chain's end at seq 10, head ");
        }
    }

    @Test
    void aRowRehashedToHideAChangeBreaksTheLinkOfTheNext() {
        Trail t = trail("rehashed");
        try (Database db = t.db()) {
            tamper(t.superuser(), """
                    UPDATE audit SET actor = 'api:mallory',
                      hash = kiln_audit_hash(seq, id, at, 'api:mallory', action, subject, detail, prev_hash) WHERE seq = 3""");
            Run run = verify(db);
            assertThat(run.code()).isEqualTo(1);
            assertThat(run.err()).startsWith("audit chain broken at row " + t.ids().get(3) + " (seq 4, ")
                    .contains("its link does not match the hash of the row before it (seq 3)");
        }
    }

    @Test
    void aRemovedRowIsNamedByTheGapItLeaves() {
        Trail t = trail("removed");
        try (Database db = t.db()) {
            tamper(t.superuser(), "DELETE FROM audit WHERE seq IN (6, 7)");
            Run run = verify(db);
            assertThat(run.code()).isEqualTo(1);
            assertThat(run.err()).startsWith("audit chain broken at row " + t.ids().get(7) + " (seq 8, ")
                    .contains("seq 6 to 7 missing before it: rows were removed");
        }
    }

    @Test
    void removingTheNewestRowsShowsAgainstTheHead() {
        Trail t = trail("truncated");
        try (Database db = t.db()) {
            tamper(t.superuser(), "DELETE FROM audit WHERE seq = 10");
            Run run = verify(db);
            assertThat(run.code()).isEqualTo(1);
            assertThat(run.err()).startsWith("audit chain broken at row " + t.ids().get(8) + " (seq 9, ")
                    .contains("the chain ends at seq 9 but the database recorded its end at seq 10: the newest rows were removed");
        }
    }

    @Test
    void theServiceRoleCannotWriteTheChainItself() {
        Trail t = trail("forged");
        try (Database db = t.db()) {
            JdbcClient service = JdbcClient.create(db.dataSource());
            // whatever links, time and place an insert names, the trigger sets them
            service.sql("""
                    INSERT INTO audit (actor, action, subject, at, seq, prev_hash, hash)
                    VALUES ('api:mallory', 'tag.pinned', 'java:1', '2001-01-01', 99, 'x', 'y')""").update();
            Map<String, Object> row = t.superuser().sql("SELECT seq, at > now() - interval '1 minute' AS recent FROM audit WHERE actor = 'api:mallory'")
                    .query().singleRow();
            assertThat(row).containsEntry("seq", 11L).containsEntry("recent", true);
            assertThat(verify(db).code()).isZero();
        }
    }
}
