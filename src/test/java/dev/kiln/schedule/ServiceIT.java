package dev.kiln.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.database.Database;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.Tools;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Kiln as a service, for real: two {@code java -jar target/kiln.jar serve} processes on one PostgreSQL
 * (the embedded server, started by the test), publishing to Debian's docker-registry, packages from a
 * signed test repository, every build signed with a password-encrypted key. Checks the clustered schedule
 * (each tick once), the unchanged tick (up to date, no blob pushed), the API end to end (the public key
 * served to anyone and accepted by cosign), and a kill -9 mid-build.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServiceIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private Database database;
    private JdbcClient jdbc;
    private final Map<String, Instance> instances = new LinkedHashMap<>();

    private record Instance(String id, Process process, int port, Path log) {
    }

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        repo.helloStatic("stable");
        for (String name : List.of("extra-data", "slow-data")) {
            repo.deb("stable", name, "1.0");
        }
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        stack(catalog, "alpha", "[hello-static]", "0/15 * * * * ?");
        stack(catalog, "beta", "[hello-static, extra-data]", "0/15 * * * * ?");
        stack(catalog, "slow", "[hello-static, slow-data]", "0 0 0 1 1 ? 2099");

        registry = new TestRegistry(tmp);
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "plain.key"), tmp);
        TestArchive.run(List.of("openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "plain.key", "-out", "signing.key",
                "-passout", "pass:service secret"), tmp);
        Files.writeString(tmp.resolve("signing.password"), "service secret\n");
        TestArchive.run(List.of("openssl", "pkey", "-in", "plain.key", "-pubout", "-out", "signing.pub"), tmp);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("db"), 4).migrate();
        jdbc = JdbcClient.create(database.dataSource());

        for (String id : List.of("kiln-a", "kiln-b")) {
            instances.put(id, start(id, catalog));
        }
        for (Instance i : instances.values()) {
            // two JVMs starting together on a busy 2-core machine take a while
            waitFor(Duration.ofSeconds(240), "instance " + i.id() + " up", () -> health(i) == 200);
        }
    }

    @AfterAll
    void tearDown() {
        instances.values().forEach(i -> i.process().destroyForcibly());
        instances.values().forEach(i -> {
            try {
                i.process().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Resources.close(database, registry, repo);
    }

    @Test
    @Order(1)
    void oneScheduledTickBuildsEachStackExactlyOnceAcrossTwoInstances() {
        waitFor(Duration.ofSeconds(90), "a finished scheduled build of alpha and beta", () -> jdbc.sql("""
                SELECT count(DISTINCT stack) FROM build WHERE trigger = 'schedule' AND status = 'succeeded'""")
                .query(Long.class).single() == 2);
        // every fire time (it is in triggered_by) produced exactly one build per stack, whichever instance ran it
        List<Map<String, Object>> perTick = jdbc.sql("""
                SELECT stack, triggered_by, count(*) AS builds FROM build WHERE trigger = 'schedule'
                GROUP BY stack, triggered_by ORDER BY stack""").query().listOfRows();
        assertThat(perTick).isNotEmpty().allSatisfy(row -> assertThat(((Number) row.get("builds")).longValue()).as(row.toString()).isEqualTo(1));
        Map<String, Object> first = jdbc.sql("""
                SELECT image_digest, bytes_pushed, instance FROM build WHERE stack = 'alpha' AND status = 'succeeded' ORDER BY id LIMIT 1""")
                .query().singleRow();
        assertThat((String) first.get("image_digest")).startsWith("sha256:");
        assertThat(((Number) first.get("bytes_pushed")).longValue()).isPositive();
        assertThat((String) first.get("instance")).isIn("kiln-a", "kiln-b");
        // one image tag, and the signature's referrers index under cosign's fallback tag
        assertThat(registry.tags("svc/golden/alpha")).hasSize(2).containsOnlyOnce("sha256-" + ((String) first.get("image_digest")).substring(7));
    }

    @Test
    @Order(2)
    void aTickWithNothingChangedRecordsUpToDateAndPushesNoBlob() {
        long blobs = registry.blobs();
        long before = jdbc.sql("SELECT coalesce(max(id), 0) FROM build").query(Long.class).single();
        waitFor(Duration.ofSeconds(60), "a later tick of alpha and beta", () -> jdbc.sql("""
                SELECT count(DISTINCT stack) FROM build WHERE trigger = 'schedule' AND id > ? AND status <> 'running'""")
                .param(before).query(Long.class).single() == 2);
        List<Map<String, Object>> later = jdbc.sql("""
                SELECT stack, status, bytes_pushed, previous_build_id, image_digest FROM build
                WHERE trigger = 'schedule' AND id > ? AND status <> 'running'""").param(before).query().listOfRows();
        assertThat(later).allSatisfy(row -> {
            assertThat(row.get("status")).as(row.toString()).isEqualTo("up-to-date");
            assertThat(((Number) row.get("bytes_pushed")).longValue()).isZero();
            assertThat(row.get("previous_build_id")).isNotNull();
        });
        assertThat(registry.blobs()).as("blobs in the registry").isEqualTo(blobs);
        assertThat(registry.tags("svc/golden/alpha")).filteredOn(t -> !t.startsWith("sha256-")).hasSize(1);
    }

    @Test
    @Order(3)
    void theApiServesStacksHistoryProvenanceAndDigestsWithRolesAndProblemDetails() throws Exception {
        Instance a = instances.get("kiln-a");
        HttpResponse<String> anonymous = get(a, "/api/stacks", null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        assertThat(JSON.readTree(anonymous.body()).path("type").asString()).isEqualTo("urn:kiln:problem:unauthenticated");

        String alphaDigest = jdbc.sql("SELECT image_digest FROM build WHERE stack = 'alpha' AND status = 'succeeded' ORDER BY id DESC LIMIT 1")
                .query(String.class).single();
        JsonNode stacks = JSON.readTree(ok(get(a, "/api/stacks", "reader")));
        assertThat(stacks.size()).isEqualTo(3);
        JsonNode alpha = stacks.get(0);
        assertThat(alpha.path("name").asString()).isEqualTo("alpha");
        assertThat(alpha.path("current").path("digest").asString()).isEqualTo(alphaDigest);
        assertThat(alpha.path("current").path("pull").asString()).isEqualTo(registry.address() + "/svc/golden/alpha@" + alphaDigest);
        assertThat(alpha.path("schedule").path("nextFireTime").asString()).isNotBlank();
        assertThat(stacks.get(2).path("current").isNull()).as("slow has never been built").isTrue();

        JsonNode digest = JSON.readTree(ok(get(a, "/api/stacks/alpha/digest", "reader")));
        String inRegistry = TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                "docker://" + digest.path("pull").asString())).strip();
        assertThat(inRegistry).isEqualTo(alphaDigest);

        JsonNode page = JSON.readTree(ok(get(a, "/api/stacks/alpha/builds?size=1", "reader")));
        assertThat(page.path("items").size()).isEqualTo(1);
        assertThat(page.path("total").asLong()).isGreaterThanOrEqualTo(2);
        long built = jdbc.sql("SELECT min(id) FROM build WHERE stack = 'alpha' AND status = 'succeeded'").query(Long.class).single();
        JsonNode build = JSON.readTree(ok(get(a, "/api/builds/" + built, "reader")));
        assertThat(build.path("lock").path("packages").get(0).path("name").asString()).isEqualTo("hello-static");
        assertThat(build.path("layers").size()).isPositive();
        assertThat(build.path("report").has("setuidStripped")).isTrue();
        assertThat(build.path("fingerprint").asString()).startsWith("sha256:");
        assertThat(build.path("kilnVersion").asString()).isNotBlank();
        assertThat(build.path("tags").get(0).asString()).matches("1-\\d{8}\\.1");

        HttpResponse<String> forbidden = post(a, "/api/stacks/alpha/builds", "reader");
        assertThat(forbidden.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(forbidden.body()).path("detail").asString()).contains("platform role");
        HttpResponse<String> missing = post(a, "/api/stacks/nope/builds", "platform");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(missing.body()).path("detail").asString()).contains("no stack 'nope'").contains("alpha, beta, slow");
        assertThat(get(a, "/api/builds/999999", "reader").statusCode()).isEqualTo(404);
        assertThat(get(a, "/api/stacks/alpha/builds?size=0", "reader").statusCode()).isEqualTo(400);

        assertThat(ok(get(a, "/v3/api-docs", null))).contains("/api/stacks/{name}/builds").contains("/api/builds/{id}");
        String metrics = ok(get(a, "/actuator/prometheus", "reader")) + ok(get(instances.get("kiln-b"), "/actuator/prometheus", "reader"));
        assertThat(metrics).contains("kiln_builds_total{").contains("status=\"up-to-date\"").contains("kiln_ticks_up_to_date_total")
                .contains("kiln_build_duration_seconds");
        // retirement: the plan (a dry run), pins with reasons, the retirement schedule registered once for the cluster
        String tag = build.path("tags").get(0).asString();
        String image = "\"repository\":\"svc/golden/alpha\",\"tag\":\"" + tag + "\"";
        assertThat(send(a, "POST", "/api/stacks/alpha/pins", "reader", "{" + image + ",\"reason\":\"x\"}").statusCode())
                .isEqualTo(403);
        assertThat(send(a, "POST", "/api/stacks/alpha/pins", "platform", "{" + image + "}").statusCode()).isEqualTo(400);
        // a tag alone can name two images (after a repository change): refused, with the images it could mean
        HttpResponse<String> bare = send(a, "POST", "/api/stacks/alpha/pins", "platform", "{\"tag\":\"" + tag + "\",\"reason\":\"x\"}");
        assertThat(bare.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bare.body()).path("problems").get(0).asString()).isEqualTo("svc/golden/alpha:" + tag + " = " + alphaDigest);
        assertThat(send(a, "POST", "/api/stacks/alpha/pins", "platform", "{" + image + ",\"reason\":\"INC-7 hold\"}")
                .statusCode()).isEqualTo(201);
        HttpResponse<String> twice = send(a, "POST", "/api/stacks/alpha/pins", "platform",
                "{\"digest\":\"" + alphaDigest + "\",\"reason\":\"again\"}");
        assertThat(twice.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(twice.body()).path("detail").asString()).contains("already pinned");
        JsonNode plan = JSON.readTree(ok(get(a, "/api/stacks/alpha/retirement", "reader")));
        assertThat(plan.path("pullTimesKnown").asBoolean()).isFalse();
        assertThat(plan.path("images").get(0).path("decision").asString()).isEqualTo("keep");
        assertThat(plan.path("images").get(0).path("reason").asString()).isEqualTo("the current approved image");
        assertThat(plan.path("images").get(0).path("pin").asString()).isEqualTo("api:platform: INC-7 hold");
        String unpin = "/api/stacks/alpha/pins?digest=" + alphaDigest;
        assertThat(send(a, "DELETE", unpin, "platform", null).statusCode()).isEqualTo(400);
        assertThat(send(a, "DELETE", unpin + "&reason=lifted", "platform", null).statusCode()).isEqualTo(200);
        assertThat(send(a, "DELETE", unpin + "&reason=lifted", "platform", null).statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(ok(get(a, "/api/audit?size=5", "reader"))).path("items").findValuesAsString("action"))
                .contains("tag.pinned", "tag.unpinned");
        assertThat(jdbc.sql("SELECT count(*) FROM qrtz_cron_triggers WHERE trigger_name = 'retirement' AND cron_expression = '0 0 4 * * ?'")
                .query(Long.class).single()).isEqualTo(1);

        theSigningKeyAndEachBuildsEvidenceAreServed(a, built, alphaDigest);

        JsonNode health = JSON.readTree(ok(get(a, "/actuator/health", "reader")));
        assertThat(health.path("components").path("db").path("status").asString()).isEqualTo("UP");
        assertThat(health.path("components").path("registry").path("status").asString()).isEqualTo("UP");
        assertThat(health.path("components").path("archive").path("status").asString()).isEqualTo("UP");
    }

    @Test
    @Order(4)
    void aManualTriggerJoinsTheRunningBuildAndKillingItsInstanceDoesNotLoseIt() throws Exception {
        repo.delay("slow-data", Duration.ofSeconds(12));
        Instance a = instances.get("kiln-a");
        HttpResponse<String> accepted = post(a, "/api/stacks/slow/builds", "platform");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        long id = JSON.readTree(accepted.body()).path("build").asLong();
        assertThat(accepted.headers().firstValue("Location")).hasValue("/api/builds/" + id);
        JsonNode again = JSON.readTree(post(instances.get("kiln-b"), "/api/stacks/slow/builds", "platform").body());
        assertThat(again.path("build").asLong()).isEqualTo(id);
        assertThat(again.path("joined").asBoolean()).isTrue();

        waitFor(Duration.ofSeconds(30), "build " + id + " fetching", () -> "fetching".equals(
                jdbc.sql("SELECT step FROM build WHERE id = ?").param(id).query(String.class).optional().orElse(null)));
        String victim = jdbc.sql("SELECT instance FROM build WHERE id = ?").param(id).query(String.class).single();
        assertThat(JSON.readTree(ok(get(a, "/api/builds/" + id, "reader"))).path("step").asString()).isEqualTo("fetching");
        Instance killed = instances.get(victim);
        killed.process().destroyForcibly().waitFor();

        waitFor(Duration.ofSeconds(120), "build " + id + " no longer running, and its recovery finished", () ->
                jdbc.sql("SELECT count(*) FROM build WHERE stack = 'slow' AND status IN ('queued', 'running')").query(Long.class).single() == 0
                        && jdbc.sql("SELECT count(*) FROM build WHERE recovered_from = ?").param(id).query(Long.class).single() == 1);
        Map<String, Object> lost = jdbc.sql("SELECT status, failure_reason FROM build WHERE id = ?").param(id).query().singleRow();
        assertThat(lost.get("status")).isEqualTo("failed");
        assertThat((String) lost.get("failure_reason")).startsWith("abandoned");
        Map<String, Object> recovery = jdbc.sql("SELECT trigger, status, instance FROM build WHERE recovered_from = ?").param(id).query().singleRow();
        assertThat(recovery.get("trigger")).isEqualTo("recovery");
        assertThat(recovery.get("status")).isEqualTo("succeeded");
        assertThat(recovery.get("instance")).isNotEqualTo(victim);
        assertThat(registry.tags("svc/golden/slow")).filteredOn(t -> !t.startsWith("sha256-")).hasSize(1);
    }

    /** The public key is open to anyone and is the one cosign verifies the service's images with; a build's evidence is listed and served. */
    private void theSigningKeyAndEachBuildsEvidenceAreServed(Instance a, long built, String alphaDigest) throws Exception {
        HttpResponse<String> key = get(a, "/api/signing/key", null);
        assertThat(ok(key)).isEqualTo(Files.readString(tmp.resolve("signing.pub")));
        assertThat(key.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/x-pem-file"));
        Path served = Files.writeString(tmp.resolve("served.pub"), key.body());
        Tools.Run cosign = Tools.cosign("verify", "--allow-http-registry", "--insecure-ignore-tlog", "--key", served.toString(),
                "-a", "dev.kiln.stack=alpha", registry.address() + "/svc/golden/alpha@" + alphaDigest);
        assertThat(cosign.ok()).as(cosign.output()).isTrue();
        // the service attests what dev.kiln.evidence makes, and cosign checks each kind against the served key
        for (String type : List.of("slsaprovenance1", "spdxjson", "cyclonedx", "https://kiln.dev/rebuild-record/v1")) {
            Tools.Run attested = Tools.cosign("verify-attestation", "--allow-http-registry", "--insecure-ignore-tlog", "--key",
                    served.toString(), "--type", type, registry.address() + "/svc/golden/alpha@" + alphaDigest);
            assertThat(attested.ok()).as(type + ": " + attested.output()).isTrue();
        }
        JsonNode spdx = JSON.readTree(ok(get(a, "/api/builds/" + built + "/sbom/spdx", "reader")));
        assertThat(spdx.path("spdxVersion").asString()).isEqualTo("SPDX-2.3");
        JsonNode signing = JSON.readTree(ok(get(a, "/api/signing", "reader")));
        assertThat(signing.path("signing").asBoolean()).isTrue();
        assertThat(signing.path("keyId").asString()).isEqualTo(key.headers().firstValue("Kiln-Key-Id").orElseThrow());
        JsonNode build = JSON.readTree(ok(get(a, "/api/builds/" + built, "reader")));
        assertThat(build.path("signed").asBoolean()).isTrue();
        assertThat(build.path("signingKeyId").asString()).isEqualTo(signing.path("keyId").asString());
        JsonNode evidence = JSON.readTree(ok(get(a, "/api/builds/" + built + "/evidence", "reader")));
        JsonNode signature = evidence.get(evidence.size() - 1);
        assertThat(signature.path("predicateType").asString()).isEqualTo("https://sigstore.dev/cosign/sign/v1");
        HttpResponse<byte[]> bundle = HTTP.send(request(a, signature.path("bundle").asString(), "reader").GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(bundle.statusCode()).isEqualTo(200);
        assertThat("sha256:" + TestArchive.sha256(bundle.body())).isEqualTo(signature.path("bundleDigest").asString());
        assertThat(get(a, "/api/builds/" + built + "/evidence", null).statusCode()).isEqualTo(401);
    }

    private Instance start(String id, Path catalog) throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Database.Settings db = database.settings();
        Path log = tmp.resolve(id + ".log");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-jar",
                Path.of("target/kiln.jar").toAbsolutePath().toString(), "serve",
                "--catalog", catalog.toString(), "--data-dir", tmp.resolve("data-" + id).toString(),
                "--target", registry.address() + "/svc",
                "--server.port=" + port,
                "--spring.datasource.url=" + db.url(), "--spring.datasource.username=" + db.username(),
                "--spring.datasource.password=" + db.password(),
                "--spring.quartz.properties.org.quartz.scheduler.instanceId=" + id,
                "--kiln.service.build-on-catalog-change=false", "--kiln.service.catalog-sync=3s",
                // the stacks tick every 15 s, far more often than the 1-hour minimum a real catalog is held to
                "--kiln.min-schedule-interval=10s",
                "--kiln.service.heartbeat=1s", "--kiln.service.stale-after=30s",
                "--kiln.users[0].name=reader", "--kiln.users[0].password={noop}reader-pw",
                "--kiln.users[1].name=platform", "--kiln.users[1].password={noop}platform-pw", "--kiln.users[1].roles=platform",
                "--kiln.signing.key=" + tmp.resolve("signing.key"), "--kiln.signing.password-file=" + tmp.resolve("signing.password"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new Instance(id, process, port, log);
    }

    private int health(Instance i) {
        if (!i.process().isAlive()) {
            throw new IllegalStateException(i.id() + " exited: " + read(i.log()));
        }
        try {
            return get(i, "/actuator/health/liveness", null).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private HttpResponse<String> get(Instance i, String path, String user) throws IOException, InterruptedException {
        return HTTP.send(request(i, path, user).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(Instance i, String path, String user) throws IOException, InterruptedException {
        return HTTP.send(request(i, path, user).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(Instance i, String method, String path, String user, String json)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = request(i, path, user).header("Content-Type", "application/json")
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder request(Instance i, String path, String user) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + i.port() + path)).timeout(Duration.ofSeconds(30));
        if (user != null) {
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8)));
        }
        return b;
    }

    private static String ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.uri() + ": " + response.body()).isEqualTo(200);
        return response.body();
    }

    private void waitFor(Duration timeout, String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                StringBuilder logs = new StringBuilder();
                instances.values().forEach(i -> logs.append("\n---- ").append(i.id()).append(" ----\n")
                        .append(read(i.log()).lines().filter(l -> l.contains("dev.kiln") || l.contains("ERROR") || l.contains("WARN"))
                                .reduce("", (x, y) -> x + y + "\n")));
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; builds: "
                        + jdbc.sql("SELECT id, stack, trigger, status, step, instance, failure_reason FROM build ORDER BY id").query().listOfRows()
                        + logs);
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private void stack(Path catalog, String name, String packages, String cron) {
        repo.helloStack(catalog, name, packages, cron);
    }
}
