package dev.kiln.compliance;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.kiln.database.Database;
import dev.kiln.history.AuditChain;
import dev.kiln.history.BuildQueries;
import dev.kiln.history.BuildRecords;
import dev.kiln.history.History;
import dev.kiln.sign.Claim;
import dev.kiln.testing.PostgresServer;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestPredicates;
import dev.kiln.testing.Zips;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What a period's evidence export holds, on a real history (the embedded PostgreSQL): builds around
 * the period's two ends, among them one requested before it that approved its image inside it, and
 * audit entries written before, inside and at its end. The JSON, both CSVs and the zip agree.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvidenceExportIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private PostgresServer server;
    private Database database;
    private History history;
    private BuildRecords records;
    private EvidenceExport export;
    private Instant since;
    private Instant until;
    private final Map<String, Long> builds = new LinkedHashMap<>();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        server = PostgresServer.start(dir);
        database = server.fresh("export");
        history = new History(database.dataSource());
        records = new BuildRecords(database.dataSource());
        BuildCompliance compliance = new BuildCompliance(history, records, new UnsignedEvidence(records));
        export = new EvidenceExport(new BuildQueries(database.dataSource()), new AuditChain(database.dataSource()), compliance, "test");

        // the builds first: the audit entries they write fall before the period
        for (String name : List.of("endedBefore", "approvedInside", "approvedBefore", "succeededInside", "failedInside", "quarantinedInside",
                "approvedAfter", "ranAcross", "requestedAfter")) {
            String status = name.startsWith("approved") || name.startsWith("succeeded") ? "succeeded"
                    : name.startsWith("quarantined") ? "quarantined" : "failed";
            builds.put(name, build(status));
        }
        long documented = builds.get("approvedInside");
        for (Claim c : List.of(TestPredicates.spdx("java"), TestPredicates.slsa("java", documented))) {
            records.document(documented, c.predicateType().equals(TestPredicates.SPDX) ? "spdx" : "provenance", c.predicateType(),
                    "sha256:" + sha256(c.json()), c.json());
        }
        // the period: from the first entry written inside it to the entry written at its end (excluded)
        history.audit("api:ops", "tag.pinned", "java:before", Map.of());
        Thread.sleep(5);
        history.audit("api:ops", "tag.pinned", "java:first-inside", Map.of());
        history.audit("api:ops", "tag.unpinned", "java:second-inside", Map.of());
        Thread.sleep(5);
        history.audit("api:ops", "tag.pinned", "java:at-the-end", Map.of());
        JdbcClient jdbc = JdbcClient.create(database.dataSource());
        since = jdbc.sql("SELECT at FROM audit WHERE subject = 'java:first-inside'").query(Timestamp.class).single().toInstant();
        until = jdbc.sql("SELECT at FROM audit WHERE subject = 'java:at-the-end'").query(Timestamp.class).single().toInstant();

        Duration hour = Duration.ofHours(1);
        times("endedBefore", since.minus(hour.multipliedBy(3)), since.minus(hour));
        times("approvedInside", since.minus(hour.multipliedBy(5)), since.plusMillis(1));
        times("approvedBefore", since.minus(hour), since.minusNanos(1000));
        times("succeededInside", since, until.minusNanos(1000));
        times("failedInside", since.plusMillis(2), since.plusMillis(3));
        times("quarantinedInside", since.plusMillis(3), since.plusMillis(4));
        times("approvedAfter", until.minusNanos(1000), until);
        times("requestedAfter", until, until.plus(hour));
        jdbc.sql("UPDATE build SET requested_at = ?, started_at = ?, finished_at = ? WHERE id = ?")
                .params(ts(since.minus(hour)), ts(since.plusMillis(1)), ts(until.plus(hour)), builds.get("ranAcross")).update();
    }

    @AfterAll
    void tearDown() {
        Resources.close(database, server);
    }

    @Test
    void theJsonHoldsEveryBuildRequestedStartedOrFinishedInThePeriodAndEveryImageApprovedInIt() throws Exception {
        JsonNode json = JSON.valueToTree(export.json(export.period(since, until, "api:auditor")));

        assertThat(ids(json.path("builds"), "id")).as("builds").containsExactlyElementsOf(ids("approvedInside", "succeededInside",
                "failedInside", "quarantinedInside", "approvedAfter", "ranAcross"));
        assertThat(ids(json.path("approvedImages"), "build")).as("approved images").containsExactlyElementsOf(ids("approvedInside",
                "succeededInside"));
        JsonNode late = json.path("approvedImages").get(0);
        assertThat(late.path("approvedAt").asString()).isEqualTo(since.plusMillis(1).toString());
        assertThat(late.path("documents").findValuesAsString("kind")).containsExactly("provenance", "spdx");
        assertThat(json.path("audit").path("entries").findValuesAsString("subject")).containsExactly("java:first-inside", "java:second-inside");
        assertThat(json.path("audit").path("chain").path("intact").asBoolean()).isTrue();

        try (InputStream schema = EvidenceExport.class.getResourceAsStream("/schemas/evidence-export.schema.json")) {
            Set<ValidationMessage> problems = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                    .getSchema(new String(schema.readAllBytes(), StandardCharsets.UTF_8)).validate(json.toString(), InputFormat.JSON);
            assertThat(problems).as(problems.toString()).isEmpty();
        }
    }

    @Test
    void theCsvsAndTheZipHoldTheSameBuildsEntriesAndImages() throws Exception {
        EvidenceExport.Period period = export.period(since, until, "api:auditor");
        StringWriter csv = new StringWriter();
        export.buildsCsv(period, csv);
        assertThat(csv.toString().lines().skip(1).map(l -> Long.parseLong(l.substring(0, l.indexOf(',')))))
                .containsExactlyElementsOf(ids("approvedInside", "succeededInside", "failedInside", "quarantinedInside", "approvedAfter", "ranAcross"));
        StringWriter audit = new StringWriter();
        export.auditCsv(period, audit);
        assertThat(audit.toString().lines().skip(1).map(l -> l.split(",")[5])).containsExactly("java:first-inside", "java:second-inside");

        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        export.zip(period, zip);
        Map<String, byte[]> files = Zips.unzip(zip.toByteArray());
        History.Build late = history.build(builds.get("approvedInside")).orElseThrow();
        History.Build inside = history.build(builds.get("succeededInside")).orElseThrow();
        assertThat(files.keySet().stream().filter(f -> f.startsWith("images/"))).containsExactly(
                EvidenceExport.folder(late) + "provenance.json", EvidenceExport.folder(late) + "spdx.json",
                EvidenceExport.folder(late) + "checklist.json", EvidenceExport.folder(inside) + "checklist.json");
        assertThat(files.get(EvidenceExport.folder(late) + "spdx.json")).isEqualTo(TestPredicates.spdx("java").json());
        assertThat(files.get(EvidenceExport.folder(late) + "provenance.json")).isEqualTo(TestPredicates.slsa("java", late.id()).json());
        assertThat(new String(files.get("builds.csv"), StandardCharsets.UTF_8)).isEqualTo(csv.toString());
        assertThat(new String(files.get("audit.csv"), StandardCharsets.UTF_8)).isEqualTo(audit.toString());
        String sums = files.keySet().stream().filter(f -> !f.equals("SHA256SUMS")).map(f -> sha256(files.get(f)) + "  " + f + "\n")
                .collect(Collectors.joining());
        assertThat(new String(files.get("SHA256SUMS"), StandardCharsets.UTF_8)).isEqualTo(sums);
    }

    /** A java build through the history as the pipeline records it, ending {@code status}; an image's build gets a digest of its own. */
    private long build(String status) {
        long id = history.open(new History.Request("java", "schedule", "quartz", null, "test", null), true, "i").id();
        history.resolved(id, new History.Inputs("sha256:" + sha256(("fingerprint " + id).getBytes(StandardCharsets.UTF_8)),
                "sha256:" + sha256("stack".getBytes(StandardCharsets.UTF_8)), "sha256:" + sha256("lock".getBytes(StandardCharsets.UTF_8)), "{}",
                "registry.example", "golden/java"));
        if (status.equals("failed")) {
            history.failed(id, "resolving: no package 'openjdk-99'");
            return id;
        }
        String digest = "sha256:" + sha256(("image " + id).getBytes(StandardCharsets.UTF_8));
        history.succeeded(id, new History.Published(digest, "registry.example/golden/java:21-" + id, "21-" + id, false, 1, 1, List.of(), 1,
                Map.of(), List.of(), null, status.equals("quarantined"), null));
        return id;
    }

    private void times(String build, Instant requested, Instant finished) {
        JdbcClient.create(database.dataSource()).sql("UPDATE build SET requested_at = ?, started_at = ?, finished_at = ? WHERE id = ?")
                .params(ts(requested), ts(requested), ts(finished), builds.get(build)).update();
    }

    private List<Long> ids(String... names) {
        return java.util.Arrays.stream(names).map(builds::get).toList();
    }

    private static List<Long> ids(JsonNode array, String field) {
        return array.valueStream().map(n -> n.path(field).asLong()).toList();
    }

    private static Timestamp ts(Instant instant) {
        return Timestamp.from(instant);
    }

    private static byte[] sha(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha(bytes));
    }

}
