package dev.kiln.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The embedded PostgreSQL as the service runs it: supervised (a kill -9 of the postmaster is followed by
 * a restart on the same port, and the pool reconnects), and on the same port across restarts of Kiln.
 */
class EmbeddedPostgresIT {

    @Test
    void aKilledServerIsStartedAgainOnTheSamePortAndTheSamePortSurvivesARestartOfKiln(@TempDir Path dir) throws Exception {
        int port;
        try (Database db = Database.open(new Database.Settings(null, null, null), dir, 2).supervise().migrate()) {
            port = port(db);
            // the service role writes history, it creates no tables
            JdbcClient jdbc = JdbcClient.create(db.dataSource());
            jdbc.sql("INSERT INTO stack (name) VALUES ('before the crash')").update();
            long pid = postmaster(dir);

            ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
            postmaster.destroyForcibly();
            // the kill is asynchronous: a query before the process is gone would reach the old server
            postmaster.onExit().get(30, java.util.concurrent.TimeUnit.SECONDS);
            Instant killed = Instant.now();
            String value = null;
            while (value == null && Duration.between(killed, Instant.now()).compareTo(Duration.ofSeconds(30)) < 0) {
                try {
                    value = jdbc.sql("SELECT name FROM stack").query(String.class).single();
                } catch (RuntimeException e) {
                    Thread.sleep(200);
                }
            }
            assertThat(value).as("the pool reaches the restarted server within 30 s").isEqualTo("before the crash");
            assertThat(postmaster(dir)).as("a new postmaster").isNotEqualTo(pid);
            assertThat(port(db)).isEqualTo(port);
            assertThat(Files.readString(dir.resolve("postgres/port")).strip()).isEqualTo(Integer.toString(port));
        }
        assertThat(Files.exists(dir.resolve("postgres/data/postmaster.pid"))).as("stopped by the process that restarted it").isFalse();

        try (Database again = Database.open(new Database.Settings(null, null, null), dir, 2)) {
            assertThat(port(again)).as("a restart of Kiln keeps the port").isEqualTo(port);
        }

        // the kept port is taken by another program: a clear refusal, not a move to another port
        try (ServerSocket squatter = new ServerSocket()) {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            assertThatThrownBy(() -> Database.open(new Database.Settings(null, null, null), dir, 2))
                    .hasMessageContaining("port " + port + " (kept in " + dir.resolve("postgres/port"))
                    .hasMessageContaining("is in use by another program");
        }
    }

    /**
     * Closing while the supervisor is restarting a killed server (pg_ctl start has not returned) stops the
     * restarted server too: it is not left running with no owner. The close is timed by the supervisor's
     * own thread being inside startServer, a window of some 200 ms.
     */
    @Test
    void aCloseDuringARestartStopsTheRestartedServer(@TempDir Path dir) throws Exception {
        Thread supervisor;
        // the server alone, not a Database: closing a pool first would let the restart finish before the server's close
        try (EmbeddedPostgres server = EmbeddedPostgres.start(dir.resolve("postgres"), Database.binaryCache())) {
            server.supervise(Duration.ofMillis(50));
            ProcessHandle postmaster = ProcessHandle.of(postmaster(dir)).orElseThrow();
            postmaster.destroyForcibly(); // not awaited: the restart may be over before onExit sees the kill
            Instant killed = Instant.now();
            while ((supervisor = restarting()) == null) {
                assertThat(Duration.between(killed, Instant.now())).as("the supervisor starts the server again").isLessThan(Duration.ofSeconds(30));
                Thread.onSpinWait();
            }
        }
        // whatever close did, the restart it raced with has ended before the checks
        supervisor.join(Duration.ofSeconds(60).toMillis());
        assertThat(supervisor.isAlive()).as("the supervisor ends").isFalse();
        Optional<Long> left = Optional.empty();
        try {
            left = Files.exists(dir.resolve("postgres/data/postmaster.pid")) ? Optional.of(postmaster(dir)) : Optional.empty();
            assertThat(left).as("the restarted server is stopped at close (postmaster.pid is gone)").isEmpty();
        } finally {
            left.flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly); // a failure leaves no server behind
        }
    }

    /** The supervisor thread while it is inside startServer, or null. */
    private static Thread restarting() {
        for (var entry : Thread.getAllStackTraces().entrySet()) {
            if (entry.getKey().getName().equals("kiln-postgres-supervisor")
                    && java.util.Arrays.stream(entry.getValue()).anyMatch(f -> f.getMethodName().equals("startServer"))) {
                return entry.getKey();
            }
        }
        return null;
    }

    /**
     * A one-shot command does not wait for the server's shutdown checkpoint when it exits; the next
     * command may find the server still stopping, and must wait for it to go rather than join it.
     * A smart shutdown (SIGTERM) holds the server in "stopping" while the first pool is open.
     */
    @Test
    void aStartWaitsForAServerThatIsStoppingInsteadOfJoiningIt(@TempDir Path dir) throws Exception {
        Database.Settings settings = new Database.Settings(null, null, null);
        java.util.concurrent.CompletableFuture<Database> second;
        long pid;
        try (Database first = Database.open(settings, dir, 2)) {
            pid = postmaster(dir);
            JdbcClient.create(first.dataSource()).sql("SELECT 1").query(Integer.class).single();
            ProcessHandle.of(pid).orElseThrow().destroy();
            Instant asked = Instant.now();
            while (!Files.readAllLines(dir.resolve("postgres/data/postmaster.pid")).get(7).strip().equals("stopping")) {
                assertThat(Duration.between(asked, Instant.now())).as("the postmaster says it is stopping").isLessThan(Duration.ofSeconds(30));
                Thread.sleep(50);
            }
            second = java.util.concurrent.CompletableFuture.supplyAsync(() -> Database.open(settings, dir, 2));
            Thread.sleep(1500);
            assertThat(second).as("the start waits while the old server is stopping").isNotDone();
        }
        try (Database again = second.get(2, java.util.concurrent.TimeUnit.MINUTES)) {
            assertThat(JdbcClient.create(again.dataSource()).sql("SELECT 1").query(Integer.class).single()).isEqualTo(1);
            assertThat(postmaster(dir)).as("a server of its own, not the one that was stopping").isNotEqualTo(pid);
        }
    }

    private static int port(Database db) {
        return Integer.parseInt(db.settings().url().replaceFirst(".*:(\\d+)/.*", "$1"));
    }

    private static long postmaster(Path dir) throws IOException {
        return Long.parseLong(Files.readAllLines(dir.resolve("postgres/data/postmaster.pid")).get(0).strip());
    }
}
