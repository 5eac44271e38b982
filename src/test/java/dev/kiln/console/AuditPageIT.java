package dev.kiln.console;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.compliance.BuildCompliance;
import dev.kiln.compliance.DigestStatus;
import dev.kiln.compliance.UnsignedEvidence;
import dev.kiln.database.Database;
import dev.kiln.history.AuditChain;
import dev.kiln.history.AuditSearch;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.testing.PostgresServer;
import dev.kiln.testing.Resources;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.ui.ExtendedModelMap;

/**
 * The console's audit page filters (time, actor, stack, action) over a real audit trail (the embedded
 * PostgreSQL): entries by different actors, with different actions, about three stacks (one of them
 * {@code javascript}, whose name starts with {@code java}) written one after another, so that each
 * filter left out, or matched too loosely, would change the entries the page lists.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuditPageIT {

    private static final Authentication READER = UsernamePasswordAuthenticationToken.authenticated("reader", null,
            List.of(new SimpleGrantedAuthority("ROLE_READER")));

    private PostgresServer server;
    private Database database;
    private ConsolePages pages;
    private final Map<String, Instant> written = new java.util.HashMap<>();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        server = PostgresServer.start(dir);
        database = server.fresh("audit_page");
        DataSource ds = database.dataSource();
        History history = new History(ds);
        BuildQueries queries = new BuildQueries(ds);
        BuildRecords records = new BuildRecords(ds);
        // the page reads neither retirement, the schedule nor the catalog
        pages = new ConsolePages(history, queries, records, new BuildCompliance(history, records, new UnsignedEvidence(records)),
                new DigestStatus(history, queries, records), new RemediationTimes(ds), new WebhookDeliveries(ds), new AuditSearch(ds),
                new AuditChain(ds), null, null, null);

        history.syncCatalog(List.of(new History.StackState("java", "sha256:j", "golden/java", "team"),
                new History.StackState("javascript", "sha256:s", "golden/javascript", "team"),
                new History.StackState("python3", "sha256:p", "golden/python3", "team")), Set.of("java", "javascript", "python3"), "sync");
        for (String entry : List.of("api:alice tag.pinned golden/java:21-1", "api:bob tag.unpinned java:sha256:" + "a".repeat(64),
                "console:alice build.requested java", "api:alice tag.pinned golden/javascript:1-1", "api:alice retirement.requested python3",
                "api:bob tag.retired registry.example.com/golden/java:21-0")) {
            Thread.sleep(2);
            String[] f = entry.split(" ");
            history.audit(f[0], f[1], f[2], Map.of());
        }
        JdbcClient.create(ds).sql("SELECT actor || ' ' || action || ' ' || subject, at FROM audit")
                .query((rs, n) -> Map.entry(rs.getString(1), rs.getTimestamp(2).toInstant())).list()
                .forEach(e -> written.put(e.getKey(), e.getValue()));
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, server);
    }

    @Test
    void theStackFilterFindsEntriesAboutTheStackItsTagsAndItsRepositoryAndNoOtherStacks() {
        assertThat(entries(null, null, null, "java", null)).containsExactly("api:bob tag.retired registry.example.com/golden/java:21-0",
                "console:alice build.requested java", "api:bob tag.unpinned java:sha256:" + "a".repeat(64), "api:alice tag.pinned golden/java:21-1",
                "sync stack.added java");
        assertThat(entries(null, null, null, "javascript", null)).containsExactly("api:alice tag.pinned golden/javascript:1-1",
                "sync stack.added javascript");
    }

    @Test
    void theActorAndActionFiltersMatchAPrefix() {
        assertThat(entries(null, null, "api:alice", null, null)).containsExactly("api:alice retirement.requested python3",
                "api:alice tag.pinned golden/javascript:1-1", "api:alice tag.pinned golden/java:21-1");
        assertThat(entries(null, null, "api:", null, null)).hasSize(5).noneMatch(e -> e.startsWith("console:") || e.startsWith("sync "));
        assertThat(entries(null, null, null, null, "tag.")).containsExactly("api:bob tag.retired registry.example.com/golden/java:21-0",
                "api:alice tag.pinned golden/javascript:1-1", "api:bob tag.unpinned java:sha256:" + "a".repeat(64),
                "api:alice tag.pinned golden/java:21-1");
        assertThat(entries(null, null, null, null, "tag.pinned")).containsExactly("api:alice tag.pinned golden/javascript:1-1",
                "api:alice tag.pinned golden/java:21-1");
        assertThat(entries(null, null, "api:alice", "java", "tag.")).containsExactly("api:alice tag.pinned golden/java:21-1");
    }

    @Test
    void theTimeFilterKeepsSinceAndLeavesOutUntil() {
        Instant since = written.get("console:alice build.requested java");
        Instant until = written.get("api:alice retirement.requested python3");
        assertThat(entries(since.toString(), until.toString(), null, null, null)).containsExactly("api:alice tag.pinned golden/javascript:1-1",
                "console:alice build.requested java");
        assertThat(entries(until.toString(), null, null, null, null)).containsExactly("api:bob tag.retired registry.example.com/golden/java:21-0",
                "api:alice retirement.requested python3");
        assertThat(entries(null, since.toString(), "sync", null, null)).containsExactly("sync stack.added python3", "sync stack.added javascript",
                "sync stack.added java");
    }

    @Test
    void aTimeThePageCannotReadIsShownAsAProblem() {
        ExtendedModelMap model = new ExtendedModelMap();
        assertThat(pages.audit("yesterday", null, null, null, null, 0, READER, model)).isEqualTo("console/audit");
        assertThat(model.getAttribute("problems")).isEqualTo(List.of(
                "since: 'yesterday' is not a date (2026-01-31), a time (2026-01-31T08:00) or an instant (2026-01-31T08:00:00Z)"));
    }

    /** The entries the audit page lists for these filters, newest first, as "actor action subject". */
    private List<String> entries(String since, String until, String actor, String stack, String action) {
        ExtendedModelMap model = new ExtendedModelMap();
        assertThat(pages.audit(since, until, actor, stack, action, 0, READER, model)).isEqualTo("console/audit");
        assertThat(model.getAttribute("problems")).isEqualTo(List.of());
        @SuppressWarnings("unchecked")
        History.Page<History.AuditEntry> page = (History.Page<History.AuditEntry>) model.getAttribute("entries");
        return page.items().stream().map(e -> e.actor() + " " + e.action() + " " + e.subject()).toList();
    }
}
