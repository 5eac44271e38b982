package dev.kiln.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnProperties;
import dev.kiln.debian.DebianException;
import dev.kiln.image.ImageException;
import dev.kiln.publish.PublishException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.http.HttpConnectTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.transaction.CannotCreateTransactionException;

/**
 * Which failures are a peer's outage (retried once it is back) and which are not, on the shapes the
 * real peers produce (the drills in ResilienceIT produced the registry's and the database's).
 */
class OutageTest {

    @Test
    void aLostOrRefusedDatabaseConnectionIsTheDatabasesOutageWhateverTheStep() {
        SQLTransientConnectionException hikari = new SQLTransientConnectionException("kiln - Connection is not available, request timed out after 2500ms",
                "08001", new SQLException("Connection to localhost:5432 refused", "08001", new ConnectException("Connection refused")));
        assertThat(Outage.of(new CannotGetJdbcConnectionException("Failed to obtain JDBC Connection", hikari), "composing"))
                .contains(Outage.DATABASE);
        assertThat(Outage.of(new CannotCreateTransactionException("Could not open JDBC Connection for transaction", hikari), null))
                .contains(Outage.DATABASE);
        assertThat(Outage.of(new RuntimeException(new SQLException("FATAL: terminating connection due to administrator command", "57P01")),
                "publishing")).contains(Outage.DATABASE);
        assertThat(Outage.database(new RuntimeException(new SQLException("duplicate key value", "23505")))).isFalse();
    }

    @Test
    void anUnreachableOrUnavailableArchiveIsTheArchivesOutage() {
        assertThat(Outage.of(new DebianException("GET http://mirror/debian/dists/trixie/InRelease failed: null",
                new HttpConnectTimeoutException("HTTP connect timed out")), "resolving")).contains(Outage.ARCHIVE);
        assertThat(Outage.of(new DebianException("GET http://mirror/debian/dists/trixie/InRelease answered HTTP 503"), "resolving"))
                .contains(Outage.ARCHIVE);
        // a package download, as the build step wraps it
        assertThat(Outage.of(new BuildException("java: libc6: download failed", new DebianException("download from http://mirror failed",
                new ConnectException("Connection refused"))), "fetching")).contains(Outage.ARCHIVE);
    }

    @Test
    void anUnreachableRegistryIsTheRegistrysOutage() {
        assertThat(Outage.of(new PublishException("publishing to localhost:5000/svc: Connection reset",
                new ExecutionException(new SocketException("Connection reset"))), "publishing")).contains(Outage.REGISTRY);
        assertThat(Outage.of(new PublishException("looking up localhost:5000/svc/golden/java:21-1: Connection refused",
                new ConnectException("Connection refused")), "checking the published image")).contains(Outage.REGISTRY);
        assertThat(Outage.of(new PublishException("publishing to r: 503 Service Unavailable"), "publishing")).contains(Outage.REGISTRY);
    }

    @Test
    void whatWouldFailTheSameWayAgainIsNoOutage() {
        assertThat(Outage.of(new DebianException("http://mirror trixie: BAD signature"), "resolving")).isEmpty();
        assertThat(Outage.of(new DebianException("libc6: not in the archive (any more) at http://mirror/..."), "fetching")).isEmpty();
        assertThat(Outage.of(new DebianException("GET http://mirror/x answered HTTP 403"), "resolving")).isEmpty();
        assertThat(Outage.of(new PublishException("r/golden/java:21-1 already exists with digest sha256:a; tags are never overwritten"),
                "publishing")).isEmpty();
        assertThat(Outage.of(new PublishException("publishing to r: 401 Unauthorized"), "publishing")).isEmpty();
        assertThat(Outage.of(new ImageException("java: /usr/bin/xz: needs liblzma.so.5, not found in the image"), "composing")).isEmpty();
        assertThat(Outage.of(new IllegalStateException("bug"), "composing")).isEmpty();
        // a network failure in a step that has no peer (composing reads local files) is not guessed at
        assertThat(Outage.of(new RuntimeException(new SocketException("Broken pipe")), "composing")).isEmpty();
    }

    @Test
    void retriesBackOffByDoublingUpToTheirBound() {
        KilnProperties.Retry retry = new KilnProperties.Retry(Duration.ofSeconds(15), Duration.ofMinutes(5), 8);
        assertThat(List.of(1, 2, 3, 4, 5, 6, 8).stream().map(retry::after).toList()).containsExactly(Duration.ofSeconds(15),
                Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(4), Duration.ofMinutes(5),
                Duration.ofMinutes(5));
        assertThat(new KilnProperties.Retry(null, null, null)).isEqualTo(retry);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new KilnProperties.Retry(Duration.ZERO, null, null))
                .hasMessageContaining("kiln.service.retry: delay must be positive");
    }
}
