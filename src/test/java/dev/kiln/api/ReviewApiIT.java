package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;

import dev.kiln.catalog.Catalog;
import dev.kiln.compliance.BuildCompliance;
import dev.kiln.compliance.DigestStatus;
import dev.kiln.compliance.EvidenceExport;
import dev.kiln.compliance.UnsignedEvidence;
import dev.kiln.database.Database;
import dev.kiln.history.AuditChain;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.history.RemediationTimes;
import dev.kiln.history.WebhookDeliveries;
import dev.kiln.image.Composition;
import dev.kiln.testing.PostgresServer;
import dev.kiln.testing.Resources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The review API's build list and comparison, and the evidence export's row limit, over a real history
 * (the embedded PostgreSQL), each on a database of its own: builds of two stacks with different
 * statuses, triggers and request times, so that each filter left out would change an answer; two
 * builds of the example java stack whose definitions differ in an environment variable and
 * {@code hardening.removeShells}; and ten thousand and one builds and audit entries.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReviewApiIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Principal COMPLIANCE = () -> "compliance";

    private PostgresServer server;
    private Database builds;
    private Database compared;
    private Database bulk;
    private MockMvc buildsApi;
    private MockMvc compareApi;
    private MockMvc bulkApi;
    private long javaSchedule;
    private long javaManual;
    private long pythonApi;
    private long pythonSchedule;
    private long javaCatalogChange;
    private long pythonCancelled;
    private long withShells;
    private long withoutShells;
    private long python;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        server = PostgresServer.start(dir.resolve("pg"));
        builds = server.fresh("builds");
        buildsApi = api(builds);
        History history = new History(builds.dataSource());
        javaSchedule = succeeded(builds, "java", "schedule", "2026-03-01T00:00:00Z");
        javaManual = failed(builds, "java", "manual", "2026-03-02T00:00:00Z");
        pythonApi = succeeded(builds, "python3", "api", "2026-03-03T00:00:00Z");
        pythonSchedule = failed(builds, "python3", "schedule", "2026-03-04T00:00:00Z");
        javaCatalogChange = history.open(new History.Request("java", "catalog-change", "sync", null, "test", null), true, "i").id();
        history.resolved(javaCatalogChange, inputs(javaCatalogChange, "java"));
        history.upToDate(javaCatalogChange, history.lastGood("java", "registry.example").orElseThrow());
        requested(builds, javaCatalogChange, "2026-03-05T00:00:00Z");
        pythonCancelled = history.open(new History.Request("python3", "manual", "api:ops", null, "test", null), false, "i").id();
        history.requestCancel(pythonCancelled, "api:ops", "wrong branch");
        requested(builds, pythonCancelled, "2026-03-06T00:00:00Z");

        compared = server.fresh("compare");
        compareApi = api(compared);
        comparedBuilds(dir);

        bulk = server.fresh("bulk");
        bulkApi = api(bulk);
    }

    @AfterAll
    void tearDown() {
        Resources.close(builds, compared, bulk, server);
    }

    @Test
    void eachBuildFilterKeepsItsBuildsAndLeavesOutTheRest() throws Exception {
        assertThat(ids("")).as("unfiltered").containsExactly(pythonCancelled, javaCatalogChange, pythonSchedule, pythonApi, javaManual, javaSchedule);
        assertThat(ids("status=failed")).containsExactly(pythonSchedule, javaManual);
        assertThat(ids("status=succeeded")).containsExactly(pythonApi, javaSchedule);
        assertThat(ids("status=up-to-date")).containsExactly(javaCatalogChange);
        assertThat(ids("status=cancelled")).containsExactly(pythonCancelled);
        assertThat(ids("status=quarantined")).isEmpty();
        assertThat(ids("trigger=schedule")).containsExactly(pythonSchedule, javaSchedule);
        assertThat(ids("trigger=manual")).containsExactly(pythonCancelled, javaManual);
        assertThat(ids("trigger=catalog-change")).containsExactly(javaCatalogChange);
        assertThat(ids("stack=java")).containsExactly(javaCatalogChange, javaManual, javaSchedule);
        // [since, until): a build requested at since is in, one requested at until is not
        assertThat(ids("since=2026-03-03T00:00:00Z")).containsExactly(pythonCancelled, javaCatalogChange, pythonSchedule, pythonApi);
        assertThat(ids("until=2026-03-03T00:00:00Z")).containsExactly(javaManual, javaSchedule);
        assertThat(ids("since=2026-03-02T00:00:00Z&until=2026-03-04T00:00:00Z")).containsExactly(pythonApi, javaManual);
        assertThat(ids("stack=python3&trigger=schedule&status=failed")).containsExactly(pythonSchedule);
        assertThat(ids("stack=java&trigger=schedule&status=failed")).isEmpty();
        assertThat(ids("since=2026-03-02T00:00:00Z&status=succeeded&trigger=api")).containsExactly(pythonApi);

        JsonNode page = JSON.readTree(call(buildsApi, "/api/builds?size=2&page=1").getContentAsString());
        assertThat(page.path("items").valueStream().map(b -> b.path("id").asLong())).containsExactly(pythonSchedule, pythonApi);
        assertThat(page.path("total").asLong()).isEqualTo(6);
        assertProblem(call(buildsApi, "/api/builds?since=2026-03-02T00:00:00Z&until=2026-03-02T00:00:00Z"), 400, "bad-range",
                "until (2026-03-02T00:00:00Z) must be after since (2026-03-02T00:00:00Z)");
    }

    @Test
    void aComparisonShowsTheDefinitionConfigAndHardeningThatChangedAndNothingElse() throws Exception {
        // the API puts the older build first whichever way it is asked
        JsonNode c = JSON.readTree(call(compareApi, "/api/compare?from=" + withoutShells + "&to=" + withShells).getContentAsString());
        assertThat(c.path("from").path("id").asLong()).isEqualTo(withShells);
        assertThat(c.path("to").path("id").asLong()).isEqualTo(withoutShells);
        assertThat(changes(c.path("definition"))).containsExactly("env.KILN_EDITION: null -> \"2\"", "hardening.removeShells: true -> false");
        // creation times, history, rootfs and the created label differ too, and are left out
        assertThat(changes(c.path("config"))).containsExactly("config.Env: null -> \"KILN_EDITION=2\"");
        assertThat(changes(c.path("hardening"))).containsExactly("removed: \"/usr/bin/dash\" -> null", "removed: \"/usr/bin/sh\" -> null");
        assertThat(c.path("layers").isEmpty()).as(c.path("layers").toString()).isTrue();
        assertThat(c.path("packages").isEmpty()).isTrue();
        assertThat(c.path("notRecorded").isEmpty()).isTrue();

        assertProblem(call(compareApi, "/api/compare?from=" + withShells + "&to=" + python), 400, "bad-parameter",
                "builds " + withShells + " and " + python + " are of different stacks (java, python3)");
        assertThat(call(compareApi, "/api/compare?from=" + withShells + "&to=4242").getStatus()).isEqualTo(404);
    }

    @Test
    void aComparisonOfBuildsWhoseLockCannotBeReadSaysSoInsteadOfFailing() throws Exception {
        try (Database unreadable = server.fresh("unreadable")) {
            History history = new History(unreadable.dataSource());
            long[] ids = new long[2];
            for (int i = 0; i < 2; i++) {
                ids[i] = history.open(new History.Request("java", "api", "api:ops", null, "test", null), true, "i").id();
                // a lock in a shape this Kiln does not read (as an older or newer Kiln might have recorded)
                history.resolved(ids[i], new History.Inputs("sha256:f" + ids[i], "sha256:s", "sha256:l",
                        "{\"lockVersion\": 1, \"packages\": \"not a list\"}", "registry.example", "golden/java"));
            }
            MockHttpServletResponse response = call(api(unreadable), "/api/compare?from=" + ids[0] + "&to=" + ids[1]);
            assertThat(response.getStatus()).as(response.getContentAsString()).isEqualTo(200);
            JsonNode c = JSON.readTree(response.getContentAsString());
            assertThat(c.path("packages").isEmpty()).isTrue();
            assertThat(c.path("notRecorded").valueStream().map(JsonNode::asString).toList())
                    .anySatisfy(n -> assertThat(n).startsWith("packages (the lock of build " + ids[0] + " cannot be read: "))
                    .anySatisfy(n -> assertThat(n).startsWith("packages (the lock of build " + ids[1] + " cannot be read: "));
        }
    }

    @Test
    void anExportOfMoreThanTenThousandBuildsOrAuditEntriesIsRefusedAsABadRange() throws Exception {
        JdbcClient jdbc = JdbcClient.create(bulk.dataSource());
        jdbc.sql("INSERT INTO stack (name) VALUES ('bulk')").update();
        // builds 1 to 10,001, requested one a second from 2001-01-01T00:00:01Z
        jdbc.sql("""
                INSERT INTO build (id, stack, trigger, triggered_by, kiln_version, status, requested_at, finished_at)
                SELECT g, 'bulk', 'schedule', 'quartz', 'test', 'failed', t, t
                FROM generate_series(1, 10001) g, LATERAL (SELECT timestamptz '2001-01-01 00:00:00+00' + g * interval '1 second' AS t) x""")
                .update();
        MockHttpServletResponse tenThousand = export("builds.csv", "2001-01-01T00:00:01Z", "2001-01-01T02:46:41Z");
        assertThat(tenThousand.getStatus()).isEqualTo(200);
        assertThat(tenThousand.getContentAsString().lines()).hasSize(EvidenceExport.MAX_ROWS + 1);
        assertProblem(export("builds.csv", "2001-01-01T00:00:01Z", "2001-01-01T02:46:42Z"), 400, "bad-range",
                "more than 10000 builds from 2001-01-01T00:00:01Z to 2001-01-01T02:46:42Z; export a shorter period");

        // ten thousand entries in one statement share its time; the 10,001st comes a moment later
        jdbc.sql("INSERT INTO audit (actor, action, subject) SELECT 'sync', 'stack.changed', 'bulk' FROM generate_series(1, 10000)").update();
        Thread.sleep(5);
        new History(bulk.dataSource()).audit("sync", "stack.changed", "bulk", Map.of());
        Instant first = jdbc.sql("SELECT min(at) FROM audit").query(Timestamp.class).single().toInstant();
        Instant last = jdbc.sql("SELECT max(at) FROM audit").query(Timestamp.class).single().toInstant();
        MockHttpServletResponse entries = export("audit.csv", first.toString(), last.toString());
        assertThat(entries.getStatus()).isEqualTo(200);
        assertThat(entries.getContentAsString().lines()).hasSize(EvidenceExport.MAX_ROWS + 1);
        Instant after = last.plusNanos(1000);
        assertProblem(export("export.json", first.toString(), after.toString()), 400, "bad-range",
                "more than 10000 audit entries from " + first + " to " + after + "; export a shorter period");
    }

    // ---- the data -------------------------------------------------------------------------------

    /** Two builds of catalog/java.yaml, the second with {@code KILN_EDITION=2} and without removing shells, as each was recorded. */
    private void comparedBuilds(Path dir) throws Exception {
        String yaml = Files.readString(Path.of("catalog/java.yaml"));
        String changed = yaml.replace("  LANG: C.UTF-8\n", "  LANG: C.UTF-8\n  KILN_EDITION: \"2\"\n").replace("removeShells: true", "removeShells: false");
        assertThat(changed).as("catalog/java.yaml as this test expects it").contains("KILN_EDITION").contains("removeShells: false");
        History history = new History(compared.dataSource());
        BuildRecords records = new BuildRecords(compared.dataSource());
        withShells = recorded(history, records, catalog(dir.resolve("a"), yaml), "2026-03-01T02:30:00Z", List.of(), List.of("/usr/bin/dash", "/usr/bin/sh"));
        withoutShells = recorded(history, records, catalog(dir.resolve("b"), changed), "2026-03-02T02:30:00Z", List.of("KILN_EDITION=2"), List.of());
        python = succeeded(compared, "python3", "api", "2026-03-03T00:00:00Z");
    }

    /** The canonical definition of the java stack in a catalog of that one file. */
    private static String catalog(Path dir, String yaml) throws Exception {
        Files.createDirectories(dir.resolve("keys"));
        Files.copy(Path.of("catalog/keys/debian-trixie.gpg"), dir.resolve("keys/debian-trixie.gpg"));
        Files.writeString(dir.resolve("java.yaml"), yaml);
        Catalog catalog = Catalog.load(dir);
        assertThat(catalog.problems()).isEmpty();
        return Catalog.canonical(catalog.stack("java").orElseThrow());
    }

    /** A java build with its definition, its config as pushed (created at {@code created}) and its hardening report. */
    private long recorded(History history, BuildRecords records, String definition, String created, List<String> extraEnv, List<String> removed) {
        long id = history.open(new History.Request("java", "manual", "api:ops", null, "test", null), true, "i").id();
        history.resolved(id, inputs(id, "java"));
        history.recipe(id, definition, Map.of());
        List<String> env = new java.util.ArrayList<>(List.of("JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64", "LANG=C.UTF-8"));
        env.addAll(extraEnv);
        records.measured(id, Map.of("architecture", "amd64", "os", "linux", "created", created,
                "config", Map.of("User", "65532:65532", "Env", env, "Entrypoint", List.of("/usr/bin/java"), "WorkingDir", "/home/nonroot",
                        "Labels", Map.of("com.example.runtime", "java", "org.opencontainers.image.created", created)),
                "rootfs", Map.of("type", "layers", "diff_ids", List.of("sha256:" + "1".repeat(64), "sha256:" + Long.toString(id).repeat(64))),
                "history", List.of(Map.of("created", created, "created_by", "kiln"))), null);
        Composition.Report report = new Composition.Report(List.of(), removed, List.of(), 120, 40_960, 3, 3, List.of("/etc/passwd"),
                List.of(), List.of("no setuid or setgid file"));
        List<Object> layers = List.of(Map.of("name", "base-files", "digest", "sha256:" + "a".repeat(64), "size", 100),
                Map.of("name", "openjdk-21-jre-headless", "digest", "sha256:" + "b".repeat(64), "size", 200));
        history.succeeded(id, new History.Published(digest(id), "registry.example/golden/java:21-" + id, "21-" + id, false, 300, 900, layers, 300,
                report, List.of(), null, false, null));
        requested(compared, id, created);
        return id;
    }

    private static long succeeded(Database db, String stack, String trigger, String requestedAt) {
        History history = new History(db.dataSource());
        long id = history.open(new History.Request(stack, trigger, "api:ops", null, "test", null), true, "i").id();
        history.resolved(id, inputs(id, stack));
        history.succeeded(id, new History.Published(digest(id), "registry.example/golden/" + stack + ":1-" + id, "1-" + id, false, 1, 1, List.of(), 1,
                Map.of(), List.of(), null, false, null));
        requested(db, id, requestedAt);
        return id;
    }

    private static long failed(Database db, String stack, String trigger, String requestedAt) {
        History history = new History(db.dataSource());
        long id = history.open(new History.Request(stack, trigger, "api:ops", null, "test", null), true, "i").id();
        history.failed(id, "resolving: no package 'openjdk-99'");
        requested(db, id, requestedAt);
        return id;
    }

    /** What a build resolved; no lock, which none of these answers reads. */
    private static History.Inputs inputs(long id, String stack) {
        return new History.Inputs("sha256:f" + id, "sha256:s", "sha256:l", null, "registry.example", "golden/" + stack);
    }

    private static String digest(long id) {
        return "sha256:" + String.format("%064x", id);
    }

    private static void requested(Database db, long id, String at) {
        JdbcClient.create(db.dataSource()).sql("UPDATE build SET requested_at = ? WHERE id = ?").params(Timestamp.from(Instant.parse(at)), id)
                .update();
    }

    // ---- the API --------------------------------------------------------------------------------

    /** The review and export API on {@code db}; the endpoints called here use neither retirement nor the catalog. */
    private static MockMvc api(Database db) {
        javax.sql.DataSource ds = db.dataSource();
        History history = new History(ds);
        BuildQueries queries = new BuildQueries(ds);
        BuildRecords records = new BuildRecords(ds);
        BuildCompliance compliance = new BuildCompliance(history, records, new UnsignedEvidence(records));
        ReviewApi review = new ReviewApi(history, queries, records, compliance, new DigestStatus(history, queries, records), new RemediationTimes(ds),
                new WebhookDeliveries(ds), null, null);
        ExportApi export = new ExportApi(new EvidenceExport(queries, new AuditChain(ds), compliance, "test"));
        return MockMvcBuilders.standaloneSetup(review, export).setControllerAdvice(new Problems()).build();
    }

    private List<Long> ids(String query) throws Exception {
        MockHttpServletResponse r = call(buildsApi, "/api/builds?" + query);
        assertThat(r.getStatus()).as(query + ": " + r.getContentAsString()).isEqualTo(200);
        JsonNode page = JSON.readTree(r.getContentAsString());
        List<Long> ids = page.path("items").valueStream().map(b -> b.path("id").asLong()).toList();
        assertThat(page.path("total").asLong()).as(query + ": total").isEqualTo(ids.size());
        return ids;
    }

    private MockHttpServletResponse export(String file, String since, String until) throws Exception {
        return bulkApi.perform(get("/api/evidence/" + file).param("since", since).param("until", until).principal(COMPLIANCE)).andReturn()
                .getResponse();
    }

    private static MockHttpServletResponse call(MockMvc api, String path) throws Exception {
        return api.perform(get(path)).andReturn().getResponse();
    }

    private static List<String> changes(JsonNode list) {
        return list.valueStream().map(c -> c.path("path").asString() + ": " + text(c.path("from")) + " -> " + text(c.path("to"))).toList();
    }

    private static String text(JsonNode value) {
        return value.isNull() || value.isMissingNode() ? "null" : value.asString();
    }

    private static void assertProblem(MockHttpServletResponse r, int status, String type, String detail) throws Exception {
        assertThat(r.getStatus()).as(r.getContentAsString()).isEqualTo(status);
        JsonNode problem = JSON.readTree(r.getContentAsString(StandardCharsets.UTF_8));
        assertThat(problem.path("type").asString()).isEqualTo("urn:kiln:problem:" + type);
        assertThat(problem.path("detail").asString()).isEqualTo(detail);
    }
}
