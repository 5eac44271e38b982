package dev.kiln.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.database.Database;
import dev.kiln.testing.HostileMirror;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The API's security against the running service: {@code java -jar target/kiln.jar serve} on the
 * embedded PostgreSQL (migrated by the service itself as the owner role, running as the service role),
 * with users from properties, a test OpenID issuer whose tokens carry roles, a signed test archive and
 * a "black hole" archive that accepts connections and never answers. Each answer is checked exactly:
 * status, problem type and detail, and what the database holds afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiSecurityIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String PUBLIC = "https://kiln.example.com";

    private Path tmp;
    private TestArchive repo;
    private TestArchive snapshot;
    private HostileMirror mirror;
    private final Map<Integer, byte[]> oldInReleases = new java.util.TreeMap<>();
    private final Map<Integer, Instant> releaseDates = new java.util.TreeMap<>();
    private TestIssuer issuer;
    private ServerSocket blackHole;
    private final List<Socket> swallowed = new ArrayList<>();
    private Database database;
    private JdbcClient superuser;
    private Process service;
    private Path log;
    private int port;
    private RawHttp raw;

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        repo = new TestArchive(tmp.resolve("repo"));
        repo.helloStatic("stable");
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        blackHole = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread accept = new Thread(() -> {
            while (!blackHole.isClosed()) {
                try {
                    swallowed.add(blackHole.accept());
                } catch (IOException e) {
                    return;
                }
            }
        });
        accept.setDaemon(true);
        accept.start();

        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("static.yaml"), repo.stackHead("test static") + """
                packages: [hello-static]
                entrypoint: [/usr/bin/hello]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/static
                """);
        Files.writeString(catalog.resolve("remote.yaml"), repo.stackHead("behind a silent archive")
                .replace(repo.url(), "http://127.0.0.1:" + blackHole.getLocalPort() + "/debian") + """
                packages: [hello-static]
                entrypoint: [/usr/bin/hello]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/remote
                """);

        // a second archive behind a mirror that can replay the InReleases it signed 20 and 9 days ago (a rollback)
        snapshot = new TestArchive(tmp.resolve("snapshot"));
        snapshot.helloStatic("stable");
        for (int days : List.of(20, 9, 1)) {
            releaseDates.put(days, Instant.now().minus(Duration.ofDays(days)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            snapshot.publish("stable", releaseDates.get(days), null);
            oldInReleases.put(days, Files.readAllBytes(snapshot.root().resolve("dists/stable/InRelease")));
        }
        mirror = new HostileMirror(snapshot.root().getParent());
        snapshot.keyring(catalog.resolve("keys/snapshot.gpg"), snapshot.defaultKey());
        Files.writeString(catalog.resolve("rolled.yaml"), snapshot.stackHead("served by a mirror that rolls back")
                .replace(snapshot.url(), mirror.url() + "/debian").replace("keys/test.gpg", "keys/snapshot.gpg") + """
                packages: [hello-static]
                entrypoint: [/usr/bin/hello]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/rolled
                """);

        issuer = new TestIssuer();
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("db"), 2);
        Database.Settings su = database.superuser();
        superuser = JdbcClient.create(new DriverManagerDataSource(su.url(), su.username(), su.password()));
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        raw = new RawHttp(port);
        log = tmp.resolve("kiln.log");
        Database.Settings db = database.settings();
        service = start(log, port, db.url(), db.username(), db.password(), List.of("--spring.flyway.user=" + db.ownerUsername(),
                "--spring.flyway.password=" + db.ownerPassword()));
        waitFor(Duration.ofSeconds(120), "the service up", () -> {
            if (!service.isAlive()) {
                throw new IllegalStateException("the service exited: " + read(log));
            }
            try {
                return get("/actuator/health/readiness", null).statusCode() == 200;
            } catch (IOException | InterruptedException e) {
                return false;
            }
        });
    }

    private Process start(Path output, int port, String url, String user, String password, List<String> more) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m",
                "-jar", Path.of("target/kiln.jar").toAbsolutePath().toString(), "serve",
                "--catalog", tmp.resolve("catalog").toString(), "--data-dir", tmp.resolve("data").toString(),
                "--server.port=" + port,
                "--spring.datasource.url=" + url, "--spring.datasource.username=" + user, "--spring.datasource.password=" + password,
                "--kiln.service.build-on-catalog-change=false", "--kiln.service.catalog-sync=3s", "--kiln.service.in-release-reuse=0s",
                "--kiln.api.public-url=" + PUBLIC,
                "--kiln.users[0].name=reader", "--kiln.users[0].password={noop}reader-pw",
                "--kiln.users[1].name=platform", "--kiln.users[1].password={noop}platform-pw", "--kiln.users[1].roles=platform",
                "--kiln.users[2].name=compliance", "--kiln.users[2].password={noop}compliance-pw", "--kiln.users[2].roles=compliance",
                "--kiln.users[3].name=victim", "--kiln.users[3].password={noop}victim-pw",
                "--kiln.security.login.free-failures-per-user=3", "--kiln.security.login.free-failures-per-address=6",
                "--kiln.security.login.first-delay=2s", "--kiln.security.login.max-delay=8s",
                "--spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer.url(),
                "--kiln.security.jwt.roles-claim=realm_access.roles", "--kiln.security.jwt.role-prefix=kiln-",
                "--kiln.security.jwt.name-claim=preferred_username"));
        command.addAll(more);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    @AfterAll
    void tearDown() throws IOException {
        if (service != null) {
            service.destroyForcibly();
        }
        if (blackHole != null) {
            blackHole.close();
        }
        for (Socket s : swallowed) {
            s.close();
        }
        Resources.close(database, repo, issuer, mirror, snapshot);
    }

    private long builds() {
        return superuser.sql("SELECT count(*) FROM build").query(Long.class).single();
    }

    @Test
    @Order(1)
    void aStateChangeFromAnotherSiteIsRefusedAndQueuesNothing() throws Exception {
        // a browser on evil.example posts a form; Basic credentials are cached, so they go along
        HttpResponse<String> form = send("POST", "/api/stacks/static/builds", "platform", "text=x",
                "Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example");
        assertProblem(form, 403, "cross-site-request",
                "a POST from the origin 'https://evil.example' is refused; call the API with a bearer token, or from Kiln's own origin");
        HttpResponse<String> fetch = send("POST", "/api/stacks/static/builds", "platform", null, "Sec-Fetch-Site", "cross-site");
        assertProblem(fetch, 403, "cross-site-request",
                "a POST from another site (Sec-Fetch-Site: 'cross-site') is refused; call the API with a bearer token, or from Kiln's own origin");
        HttpResponse<String> nullOrigin = send("POST", "/api/stacks/static/pins", "platform", "{\"tag\":\"x\",\"reason\":\"y\"}",
                "Content-Type", "application/json", "Origin", "null");
        assertThat(nullOrigin.statusCode()).isEqualTo(403);
        assertThat(builds()).as("nothing queued").isZero();

        // from Kiln's own pages (its public origin, or the origin the browser used), and from curl (no Origin): accepted
        HttpResponse<String> same = send("POST", "/api/stacks/static/builds", "platform", null, "Origin", PUBLIC, "Sec-Fetch-Site", "same-origin");
        assertThat(same.statusCode()).as(same.body()).isEqualTo(202);
        long id = JSON.readTree(same.body()).path("build").asLong();
        HttpResponse<String> direct = send("POST", "/api/stacks/static/builds", "platform", null, "Origin", "http://127.0.0.1:" + port);
        assertThat(direct.statusCode()).isEqualTo(202);
        assertThat(send("POST", "/api/stacks/static/builds", "platform", null).statusCode()).isEqualTo(202);
        waitFor(Duration.ofSeconds(90), "build " + id + " done", () -> !superuser.sql("SELECT status FROM build WHERE id = ?").param(id)
                .query(String.class).single().matches("queued|running"));
        assertThat(superuser.sql("SELECT status, triggered_by FROM build WHERE id = ?").param(id).query().singleRow())
                .containsEntry("status", "succeeded").containsEntry("triggered_by", "api:platform");
    }

    @Test
    @Order(2)
    void errorsCarryAnErrorIdThatTheLogCarriesAndNeverInternalText() throws Exception {
        String tag = superuser.sql("SELECT tag FROM image_tag ORDER BY id LIMIT 1").query(String.class).single();
        long audit = superuser.sql("SELECT count(*) FROM audit").query(Long.class).single();
        HttpResponse<String> nul = send("POST", "/api/stacks/static/pins", "platform", "{\"tag\":\"" + tag + "\",\"reason\":\"INC-1\\u0000; DROP\"}",
                "Content-Type", "application/json");
        JsonNode problem = assertProblem(nul, 400, "bad-text", "field 'reason': contains the control character U+0000 at position 5");
        assertThat(read(log)).contains("problem " + problem.path("errorId").asString() + ": 400 bad-text POST '/api/stacks/static/pins'");
        assertThat(superuser.sql("SELECT count(*) FROM pin").query(Long.class).single()).isZero();
        assertThat(superuser.sql("SELECT count(*) FROM audit").query(Long.class).single()).isEqualTo(audit);

        // a real fault inside: the service role loses its grant on build for a moment
        superuser.sql("REVOKE SELECT ON build FROM kiln_app").update();
        HttpResponse<String> fault;
        try {
            fault = send("GET", "/api/builds/1", "reader", null);
        } finally {
            superuser.sql("GRANT SELECT ON build TO kiln_app").update();
        }
        JsonNode internal = assertProblem(fault, 500, "internal",
                "the request failed inside Kiln; the service log has the cause under this error id");
        assertThat(fault.body()).doesNotContainIgnoringCase("permission").doesNotContainIgnoringCase("select")
                .doesNotContain("Exception").doesNotContain("dev.kiln");
        String errorId = internal.path("errorId").asString();
        assertThat(errorId).matches("[0-9a-f]{16}");
        waitFor(Duration.ofSeconds(5), "the error in the log", () -> read(log).contains("error " + errorId + ": 500 GET '/api/builds/1'"));
        assertThat(read(log).substring(read(log).indexOf("error " + errorId))).contains("ERROR: permission denied for table build");
        assertThat(get("/api/builds/1", "reader").statusCode()).isEqualTo(200);
    }

    @Test
    @Order(3)
    void tomcatsOwnRefusalsAndOddPathsAreProblemsNotHtmlOr401() throws Exception {
        String basic = basic("reader");
        for (String path : List.of("/api/stacks;jsessionid=1", "/api//stacks", "/api/stacks/../builds/1", "/api/stacks/%2e%2e/builds/1",
                "/api/./stacks")) {
            RawHttp.Response r = raw.get("127.0.0.1", path, basic);
            assertThat(r.status()).as(path).isEqualTo(400);
            assertThat(r.header("Content-Type")).as(path).startsWith("application/problem+json");
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.path("type").asString()).as(path).isEqualTo("urn:kiln:problem:bad-url");
            assertThat(body.path("errorId").asString()).matches("[0-9a-f]{16}");
        }
        // Tomcat refuses these before any filter runs: a character a URL may not hold, an encoded slash, NUL, a bad header
        for (String head : List.of("GET /api/st{acks HTTP/1.1\r\nHost: x", "GET /api/stacks/a%2Fb HTTP/1.1\r\nHost: x",
                "GET /api/stacks/a%00b HTTP/1.1\r\nHost: x", "GET /api/stacks HTTP/1.1\r\nHost: x\r\nBad Header: y")) {
            RawHttp.Response r = raw.send("127.0.0.1", head + "\r\nAuthorization: " + basic, new byte[0]);
            assertThat(r.status()).as(head).isEqualTo(400);
            assertThat(r.header("Content-Type")).as(head).startsWith("application/problem+json");
            assertThat(r.body()).as(head).doesNotContain("<html").doesNotContain("Tomcat");
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.path("type").asString()).isEqualTo("urn:kiln:problem:bad-request");
            assertThat(body.path("detail").asString()).isEqualTo("the request could not be parsed (its request line, a header or the URL is malformed)");
        }
        assertProblem(get("/api/nothing", "reader"), 404, "no-such-endpoint", "no such endpoint: GET '/api/nothing'");
        assertProblem(get("/api/stacks/static/builds?page=x", "reader"), 400, "bad-request", "parameter 'page' must be an integer");
        assertProblem(send("PUT", "/api/stacks", "platform", null), 405, "method-not-allowed", "PUT is not supported here (allowed: GET)");
    }

    @Test
    @Order(4)
    void everyBodyAndTextFieldIsBounded() throws Exception {
        String tag = superuser.sql("SELECT tag FROM image_tag ORDER BY id LIMIT 1").query(String.class).single();
        repository = superuser.sql("SELECT repository FROM image_tag ORDER BY id LIMIT 1").query(String.class).single();
        // a 30 MB reason: refused on its declared length, before a byte of it is read
        String head = "POST /api/stacks/static/pins HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + basic("platform")
                + "\r\nContent-Type: application/json\r\nContent-Length: " + (30 << 20);
        byte[] thirtyMegabytes = new byte[30 << 20];
        java.util.Arrays.fill(thirtyMegabytes, (byte) 'x');
        RawHttp.Response big = raw.send("127.0.0.1", head, thirtyMegabytes);
        assertThat(big.status()).isEqualTo(413);
        assertThat(JSON.readTree(big.body()).path("detail").asString()).isEqualTo("the request body is larger than 65536 bytes");
        // the same without a declared length: counted as it is read
        String reason = "x".repeat(100_000);
        HttpResponse<String> chunked = HTTP.send(request("/api/stacks/static/pins", "platform").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
                        ("{\"repository\":\"" + repository + "\",\"tag\":\"" + tag + "\",\"reason\":\"" + reason + "\"}").getBytes(StandardCharsets.UTF_8)))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertProblem(chunked, 413, "body-too-large", "the request body is larger than 65536 bytes");
        assertProblem(pin(tag, "y".repeat(1001)), 400, "bad-text", "the reason is longer than 1000 characters (1001)");
        assertProblem(pin(tag, "hold \u202Egnp.exe"), 400, "bad-text", "field 'reason': contains the control character U+202E at position 5");
        assertProblem(pin("../" + tag, "hold"), 400, "bad-tag",
                "the tag '../" + tag + "' is not an image tag (letters, digits, '_', '.', '-'; at most 128, not starting with '.' or '-')");
        assertProblem(send("POST", "/api/stacks/static/pins", "platform", "{\"tag\":\"" + tag + "\",\"reason\":\"r\",\"until\":\"x\"}",
                "Content-Type", "application/json"), 400, "bad-request", "unknown field 'until' in the request body");
        assertProblem(send("POST", "/api/stacks/static/pins", "platform", "{\"tag\":", "Content-Type", "application/json"), 400,
                "bad-request", "the request body is not valid JSON (line 1, column 8)");
        assertProblem(send("POST", "/api/stacks/static/pins", "platform", "tag=x", "Content-Type", "application/x-www-form-urlencoded"),
                415, "unsupported-media-type", "this Content-Type is not accepted here; send application/json");
        assertProblem(send("DELETE", "/api/stacks/static/pins?repository=" + repository + "&tag=" + tag + "&reason=" + "z".repeat(1001), "platform", null), 400, "bad-text",
                "the reason is longer than 1000 characters (1001)");
        assertThat(superuser.sql("SELECT count(*) FROM pin").query(Long.class).single()).isZero();

        assertThat(pin(tag, "INC-7: hold for the audit").statusCode()).isEqualTo(201);
        assertThat(superuser.sql("SELECT reason FROM pin").query(String.class).single()).isEqualTo("INC-7: hold for the audit");
        // and the database refuses what the API would: even a service role that went around the API
        assertThatThrownBy(() -> JdbcClient.create(database.dataSource()).sql("UPDATE pin SET unpin_reason = repeat('q', 1001), "
                + "unpinned_at = now(), unpinned_by = 'x'").update())
                .rootCause().hasMessageContaining("pin: the unpin reason must be 1 to 1000 characters without control characters");
    }

    /** The repository of the image everyBodyAndTextFieldIsBounded pins (a pin names it with its tag). */
    private String repository;

    private HttpResponse<String> pin(String tag, String reason) throws Exception {
        return send("POST", "/api/stacks/static/pins", "platform", JSON.writeValueAsString(Map.of("repository", repository, "tag", tag, "reason", reason)),
                "Content-Type", "application/json");
    }

    @Test
    @Order(5)
    void failedSignInsAreLoggedAndThrottledPerUserAndPerAddressWithBackOff() throws Exception {
        // per user: three free failures, then 2 s, then 4 s; the right password does not help meanwhile, from any address
        for (int i = 0; i < 3; i++) {
            assertThat(raw.get("127.0.0.2", "/api/stacks", basic("victim", "guess-" + i)).status()).isEqualTo(401);
        }
        RawHttp.Response fourth = raw.get("127.0.0.2", "/api/stacks", basic("victim", "guess-3"));
        assertThat(fourth.status()).isEqualTo(401);
        RawHttp.Response locked = raw.get("127.0.0.4", "/api/stacks", basic("victim", "victim-pw"));
        assertThat(locked.status()).isEqualTo(429);
        assertThat(Long.parseLong(locked.header("Retry-After"))).isBetween(1L, 2L);
        JsonNode throttled = JSON.readTree(locked.body());
        assertThat(throttled.path("type").asString()).isEqualTo("urn:kiln:problem:login-throttled");
        assertThat(throttled.path("detail").asString()).startsWith("too many failed sign-ins for this user or from this address; try again in ");
        Thread.sleep(2100);
        assertThat(raw.get("127.0.0.2", "/api/stacks", basic("victim", "guess-4")).status()).isEqualTo(401);
        assertThat(raw.get("127.0.0.2", "/api/stacks", basic("victim", "victim-pw")).header("Retry-After")).isIn("3", "4");
        Thread.sleep(4100);
        assertThat(raw.get("127.0.0.2", "/api/stacks", basic("victim", "victim-pw")).status()).as("waited out").isEqualTo(200);

        // per address: six free failures from one address, whatever the names; then even a valid user from there waits
        for (int i = 0; i < 6; i++) {
            assertThat(raw.get("127.0.0.3", "/api/stacks", basic("spray-" + i, "pw")).status()).isEqualTo(401);
        }
        assertThat(raw.get("127.0.0.3", "/api/stacks", basic("nobody", "pw")).status()).isEqualTo(401);
        assertThat(raw.get("127.0.0.3", "/api/stacks", basic("reader", "reader-pw")).status()).isEqualTo(429);
        assertThat(raw.get("127.0.0.5", "/api/stacks", basic("reader", "reader-pw")).status()).as("another address").isEqualTo(200);

        String lines = read(log);
        assertThat(lines).contains("sign-in failed: user 'victim' from 127.0.0.2: bad credentials (failures: 4 for the user, 4 from the address; "
                + "next attempt in 2 s)");
        assertThat(lines).contains("sign-in refused unchecked: user 'victim' from 127.0.0.4: throttled for ");
        assertThat(lines).contains("sign-in failed: user 'spray-5' from 127.0.0.3: bad credentials (failures: 1 for the user, 6 from the address)");
        assertThat(lines).doesNotContain("guess-").doesNotContain("victim-pw");
    }

    @Test
    @Order(6)
    void bearerTokensFromTheIssuerCarryTheirRolesAndNothingElseGetsIn() throws Exception {
        Map<String, Object> platform = Map.of("realm_access", Map.of("roles", List.of("kiln-platform", "offline_access")));
        Map<String, Object> compliance = Map.of("realm_access", Map.of("roles", List.of("kiln-compliance")));
        Map<String, Object> reader = Map.of("realm_access", Map.of("roles", List.of("kiln-reader")));
        Map<String, Object> none = Map.of("realm_access", Map.of("roles", List.of("platform", "admin")));

        // a token authenticates the request itself: another site's page cannot make a browser send one
        HttpResponse<String> trigger = bearer("POST", "/api/stacks/static/builds", issuer.token("carol", platform), "Origin", "https://ci.example");
        assertThat(trigger.statusCode()).as(trigger.body() + read(log).lines().filter(l -> l.contains("bearer") || l.contains("jwt")
                || l.contains("Jwt") || l.contains("issuer")).reduce("", (a, b) -> a + b + "\n")).isEqualTo(202);
        long id = JSON.readTree(trigger.body()).path("build").asLong();
        assertThat(superuser.sql("SELECT triggered_by FROM build WHERE id = ?").param(id).query(String.class).single()).isEqualTo("api:jwt:carol");
        waitFor(Duration.ofSeconds(90), "build " + id + " done", () -> !superuser.sql("SELECT status FROM build WHERE id = ?").param(id)
                .query(String.class).single().matches("queued|running"));

        assertThat(bearer("GET", "/api/stacks", issuer.token("dave", reader)).statusCode()).isEqualTo(200);
        assertProblem(bearer("POST", "/api/stacks/static/builds", issuer.token("dave", reader)), 403, "forbidden",
                "POST '/api/stacks/static/builds' needs the platform role");
        assertProblem(bearer("GET", "/api/stacks", issuer.token("erin", none)), 403, "forbidden", "GET '/api/stacks' needs the reader role");

        HttpResponse<String> evidence = bearer("GET", "/api/evidence/audit", issuer.token("frank", compliance));
        assertThat(evidence.statusCode()).as(evidence.body()).isEqualTo(200);
        JsonNode export = JSON.readTree(evidence.body());
        assertThat(export.path("chain").path("intact").asBoolean()).isTrue();
        long rows = superuser.sql("SELECT count(*) FROM audit").query(Long.class).single();
        assertThat(export.path("chain").path("rows").asLong()).isEqualTo(rows);
        assertThat(export.path("entries").size()).isEqualTo((int) rows);
        JsonNode last = export.path("entries").get((int) rows - 1);
        assertThat(last.path("hash").asString()).isEqualTo(export.path("chain").path("headHash").asString());
        assertThat(export.path("entries").findValuesAsString("actor")).contains("api:jwt:carol", "api:platform");
        assertProblem(bearer("GET", "/api/evidence/audit", issuer.token("carol", platform)), 403, "forbidden",
                "GET '/api/evidence/audit' needs the compliance role");
        assertThat(get("/api/evidence/audit", "compliance").statusCode()).isEqualTo(200);
        assertThat(get("/api/evidence/audit", "reader").statusCode()).isEqualTo(403);

        for (String token : List.of(issuer.expired("carol", platform), issuer.forged("carol", platform), issuer.otherIssuer("carol", platform),
                issuer.token(null, platform), "not.a.token")) {
            HttpResponse<String> refused = bearer("POST", "/api/stacks/static/builds", token);
            assertProblem(refused, 401, "unauthenticated",
                    "the bearer token was refused (expired, not signed by the configured issuer, or not for Kiln)");
            assertThat(refused.headers().firstValue("WWW-Authenticate")).hasValue("Bearer error=\"invalid_token\"");
        }
        assertThat(superuser.sql("SELECT count(*) FROM build WHERE id > ?").param(id).query(Long.class).single()).isZero();
        HttpResponse<String> anonymous = get("/api/stacks", null);
        assertThat(anonymous.headers().allValues("WWW-Authenticate")).containsExactly("Basic realm=\"kiln\", charset=\"UTF-8\"", "Bearer");
    }

    @Test
    @Order(7)
    void healthShowsDetailsOnlyToSignedInUsersAndASilentPeerNeverTakesItDown() throws Exception {
        HttpResponse<String> anonymous = get("/actuator/health", null);
        assertThat(anonymous.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(anonymous.body())).isEqualTo(JSON.readTree("{\"groups\":[\"liveness\",\"peers\",\"readiness\"],\"status\":\"UP\"}"));
        assertThat(anonymous.body()).doesNotContain(tmp.toString()).doesNotContain("127.0.0.1");
        assertThat(JSON.readTree(get("/actuator/health/liveness", null).body())).isEqualTo(JSON.readTree("{\"status\":\"UP\"}"));
        assertThat(JSON.readTree(get("/actuator/health/readiness", null).body())).isEqualTo(JSON.readTree("{\"status\":\"UP\"}"));

        // the archive behind the black hole never answers: it is DEGRADED, the service stays UP, and no probe waits for it
        waitFor(Duration.ofSeconds(60), "the silent archive reported", () -> {
            try {
                return JSON.readTree(get("/actuator/health", "reader").body()).path("components").path("archive").path("status").asString()
                        .equals("DEGRADED");
            } catch (Exception e) {
                return false;
            }
        });
        for (int i = 0; i < 5; i++) {
            long start = System.nanoTime();
            HttpResponse<String> health = get("/actuator/health", "reader");
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(millis).as("health answered in %d ms", millis).isLessThan(1000);
            assertThat(health.statusCode()).isEqualTo(200);
            JsonNode body = JSON.readTree(health.body());
            assertThat(body.path("status").asString()).isEqualTo("UP");
            assertThat(body.path("components").path("db").path("status").asString()).isEqualTo("UP");
            assertThat(body.path("components").path("archive").path("details").path(
                    "http://127.0.0.1:" + blackHole.getLocalPort() + "/debian/dists/stable/InRelease").asString()).isEqualTo("DEGRADED (HttpTimeoutException)");
            assertThat(body.path("components").path("archive").path("details").path(repo.url() + "/dists/stable/InRelease").asString())
                    .isEqualTo("UP");
            assertThat(body.path("components").path("registry").path("details").path("store").asString()).isEqualTo(tmp.resolve("data/store").toString());
            Thread.sleep(300);
        }
        HttpResponse<String> peers = get("/actuator/health/peers", "reader");
        assertThat(peers.statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(peers.body()).path("status").asString()).isEqualTo("DEGRADED");
        assertThat(get("/actuator/health/readiness", "reader").statusCode()).isEqualTo(200);
    }

    @Test
    @Order(8)
    void theOpenApiDocumentStatesRealStatusesEveryProblemAndItsConfiguredServer() throws Exception {
        RawHttp.Response response = raw.send("127.0.0.1", "GET /v3/api-docs HTTP/1.1\r\nHost: evil.example", new byte[0]);
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body()).doesNotContain("evil.example");
        JsonNode doc = JSON.readTree(response.body());
        assertThat(doc.path("servers")).isEqualTo(JSON.readTree("[{\"url\":\"" + PUBLIC + "\"}]"));
        JsonNode trigger = doc.path("paths").path("/api/stacks/{name}/builds").path("post").path("responses");
        assertThat(names(trigger)).containsExactly("202", "400", "401", "403", "404", "422", "429", "500");
        JsonNode pin = doc.path("paths").path("/api/stacks/{name}/pins").path("post").path("responses");
        assertThat(names(pin)).containsExactly("201", "400", "401", "403", "404", "409", "413", "415", "422", "429", "500");
        assertThat(names(doc.path("paths").path("/api/stacks/{name}/rebase").path("post").path("responses")))
                .containsExactly("201", "400", "401", "403", "404", "409", "413", "415", "422", "429", "500");
        assertThat(names(doc.path("paths").path("/api/stacks").path("get").path("responses")))
                .containsExactly("200", "400", "401", "403", "429", "500");
        Set<String> seen = new HashSet<>();
        doc.path("paths").properties().forEach(path -> path.getValue().properties().forEach(op -> op.getValue().path("responses").properties()
                .forEach(r -> {
                    seen.add(r.getKey());
                    String what = path.getKey() + " " + op.getKey() + " " + r.getKey();
                    if (r.getKey().startsWith("2")) {
                        // JSON, or a document served as what it is (a PEM key, CSV, a zip): always stated, never "*/*"
                        assertThat(names(r.getValue().path("content"))).as(what).isNotEmpty().doesNotContain("*/*")
                                .allSatisfy(t -> assertThat(t).matches("application/(json|x-pem-file|zip|[a-z0-9.+-]+\\+json)|text/(plain|csv)"));
                    } else {
                        String type = "application/problem+json";
                        assertThat(names(r.getValue().path("content"))).as(what).containsExactly(type);
                        assertThat(r.getValue().path("content").path(type).path("schema").path("$ref").asString())
                                .isEqualTo("#/components/schemas/Problem");
                    }
                })));
        assertThat(seen).doesNotContain("default");
        assertThat(doc.path("paths").has("/error")).isFalse();
        assertThat(names(doc.path("components").path("schemas").path("Problem").path("properties")))
                .contains("type", "title", "status", "detail", "errorId");
        assertThat(names(doc.path("components").path("securitySchemes"))).containsExactly("basic", "bearer");
    }

    @Test
    @Order(9)
    void everyMetricHasHelpTextAndStacksAndQuartzJobsAreMeasured() throws Exception {
        Instant finished = superuser.sql("SELECT max(finished_at) FROM build WHERE stack = 'static' AND status IN ('succeeded', 'up-to-date')")
                .query(java.sql.Timestamp.class).single().toInstant();
        Instant approved = superuser.sql("SELECT c.finished_at FROM stack s JOIN build c ON c.id = s.current_build_id WHERE s.name = 'static'")
                .query(java.sql.Timestamp.class).single().toInstant();
        String[] scrape = new String[1];
        waitFor(Duration.ofSeconds(40), "the stack gauges", () -> {
            try {
                scrape[0] = get("/actuator/prometheus", "reader").body();
                return value(scrape[0], "kiln_stack_last_success_timestamp_seconds{stack=\"static\"}") == finished.toEpochMilli() / 1000.0;
            } catch (Exception e) {
                return false;
            }
        });
        String metrics = scrape[0];
        Matcher types = Pattern.compile("(?m)^# TYPE (\\S+) ").matcher(metrics);
        List<String> families = new ArrayList<>();
        while (types.find()) {
            families.add(types.group(1));
        }
        assertThat(families).hasSizeGreaterThan(50);
        for (String family : families) {
            assertThat(metrics).as("HELP of " + family).containsPattern("(?m)^# HELP " + Pattern.quote(family) + " \\S");
        }
        double age = value(metrics, "kiln_stack_approved_image_age_seconds{stack=\"static\"}");
        double expected = (System.currentTimeMillis() - approved.toEpochMilli()) / 1000.0;
        assertThat(age).isBetween(expected - 20, expected + 1);
        assertThat(metrics).doesNotContain("kiln_stack_approved_image_age_seconds{stack=\"remote\"}");
        assertThat(value(metrics, "kiln_quartz_job_duration_seconds_count{group=\"kiln-stacks\",job=\"static\",result=\"success\"}"))
                .isGreaterThanOrEqualTo(2);
        assertThat(value(metrics, "kiln_quartz_job_duration_seconds_count{group=\"kiln\",job=\"catalog-sync\",result=\"success\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(metrics, "kiln_quartz_jobs_running")).isGreaterThanOrEqualTo(0);
        assertThat(metrics).contains("# HELP kiln_builds_total Builds that ended, by stack and status");
    }

    @Test
    @Order(11)
    void aServiceGivenASuperuserRoleRefusesToStart() throws Exception {
        Database.Settings su = database.superuser();
        Path output = tmp.resolve("privileged.log");
        Process privileged = start(output, 0, su.url(), su.username(), su.password(), List.of());
        assertThat(privileged.waitFor(120, TimeUnit.SECONDS)).as(read(output)).isTrue();
        assertThat(privileged.exitValue()).isNotZero();
        assertThat(read(output)).contains("the service's database role can switch off the append-only history (role kiln is a superuser; "
                + "role kiln on audit: DELETE, TRIGGER, TRUNCATE, UPDATE");
        assertThat(get("/api/stacks", "reader").statusCode()).as("the running service is unaffected").isEqualTo(200);
    }

    @Test
    @Order(10)
    void anOlderInReleaseIsRefusedUntilAPlatformUserGrantsARebaseWhichTheNextBuildUsesOnceUnderTheirName() throws Exception {
        String url = mirror.url() + "/debian";
        Instant newest = releaseDates.get(1);
        Instant older = releaseDates.get(9);
        Map<String, Object> first = built("rolled");
        assertThat(first).as(String.valueOf(first.get("failure_reason"))).containsEntry("status", "succeeded");
        assertThat(superuser.sql("SELECT newest_date FROM archive_release WHERE archive_url = ? AND suite = 'stable'").param(url)
                .query(java.sql.Timestamp.class).single().toInstant()).isEqualTo(newest);

        // the mirror replays the InRelease the archive signed nine days ago: a rollback, refused
        mirror.attacks.put("/dists/stable/InRelease", HostileMirror.bytes(oldInReleases.get(9)));
        Map<String, Object> refused = built("rolled");
        assertThat(refused).containsEntry("status", "failed");
        assertThat((String) refused.get("failure_reason")).endsWith(url + " stable: the InRelease is dated " + older + ", before " + newest
                + ", the newest Release Kiln accepted for this suite (remembered in PostgreSQL (table archive_release)): an old Release"
                + " served again (a rollback); refusing it. If the archive was re-based on purpose (a snapshot mirror), grant the stack a"
                + " re-base: POST /api/stacks/{name}/rebase with a reason (platform role)");

        // a reader may not re-base; a platform user must say why; nothing is granted or audited by a refusal
        long audit = superuser.sql("SELECT count(*) FROM audit").query(Long.class).single();
        assertProblem(send("POST", "/api/stacks/rolled/rebase", "reader", "{\"reason\":\"I want it\"}", "Content-Type", "application/json"),
                403, "forbidden", "POST '/api/stacks/rolled/rebase' needs the platform role");
        String required = "a re-base needs a reason (who asked, why), for example {\"reason\": \"snapshot mirror of 2026-10-01 for the"
                + " INC-42 audit\"}";
        assertProblem(send("POST", "/api/stacks/rolled/rebase", "platform", "{}", "Content-Type", "application/json"), 400,
                "reason-required", required);
        assertProblem(send("POST", "/api/stacks/rolled/rebase", "platform", "{\"reason\":\"  \"}", "Content-Type", "application/json"), 400,
                "reason-required", required);
        assertProblem(send("POST", "/api/stacks/rolled/rebase", "platform", null), 400, "reason-required", required);
        assertProblem(send("POST", "/api/stacks/nothing/rebase", "platform", "{\"reason\":\"x\"}", "Content-Type", "application/json"), 404,
                "no-such-stack", "no stack 'nothing' (stacks: remote, rolled, static)");
        assertThat(superuser.sql("SELECT count(*) FROM rebase_grant").query(Long.class).single()).isZero();
        assertThat(superuser.sql("SELECT count(*) FROM audit").query(Long.class).single()).isEqualTo(audit);

        String reason = "snapshot mirror of nine days ago for the INC-42 audit";
        HttpResponse<String> granted = send("POST", "/api/stacks/rolled/rebase", "platform", "{\"reason\":\"" + reason + "\"}",
                "Content-Type", "application/json");
        assertThat(granted.statusCode()).as(granted.body()).isEqualTo(201);
        JsonNode grant = JSON.readTree(granted.body());
        assertThat(grant.path("stack").asString()).isEqualTo("rolled");
        assertThat(grant.path("grantedBy").asString()).isEqualTo("api:platform");
        assertThat(grant.path("reason").asString()).isEqualTo(reason);
        HttpResponse<String> again = send("POST", "/api/stacks/rolled/rebase", "platform", "{\"reason\":\"twice\"}",
                "Content-Type", "application/json");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(again.body()).path("type").asString()).isEqualTo("urn:kiln:problem:rebase-pending");

        // the next build goes back, and the move is recorded under the platform user's name and reason
        Map<String, Object> rebased = built("rolled");
        assertThat(rebased).as(String.valueOf(rebased.get("failure_reason"))).containsEntry("status", "succeeded");
        long build = ((Number) rebased.get("id")).longValue();
        assertThat(superuser.sql("SELECT archive_url, suite, from_date, to_date, rebased_by, reason FROM archive_rebase").query().listOfRows())
                .singleElement().satisfies(row -> {
                    assertThat(row).containsEntry("archive_url", url).containsEntry("suite", "stable")
                            .containsEntry("rebased_by", "api:platform").containsEntry("reason", reason);
                    assertThat(((java.sql.Timestamp) row.get("from_date")).toInstant()).isEqualTo(newest);
                    assertThat(((java.sql.Timestamp) row.get("to_date")).toInstant()).isEqualTo(older);
                });
        assertThat(superuser.sql("SELECT newest_date FROM archive_release WHERE archive_url = ? AND suite = 'stable'").param(url)
                .query(java.sql.Timestamp.class).single().toInstant()).isEqualTo(older);
        assertThat(superuser.sql("SELECT used_by_build FROM rebase_grant WHERE id = ?").param(grant.path("grant").asLong())
                .query(Long.class).single()).isEqualTo(build);
        List<Map<String, Object>> trail = superuser.sql("""
                        SELECT actor, action, detail::text AS detail FROM audit WHERE subject = 'rolled' AND action LIKE 'stack.rebase%'
                        ORDER BY seq""").query().listOfRows();
        assertThat(trail).extracting(r -> r.get("actor") + " " + r.get("action"))
                .containsExactly("api:platform stack.rebase-granted", "api:platform stack.rebased");
        assertThat(JSON.readTree((String) trail.get(1).get("detail"))).isEqualTo(JSON.readTree("""
                {"grant": %d, "build": %d, "reason": "%s", "downgrades": 0,
                 "suites": [{"archive": "%s", "suite": "stable", "from": "%s", "to": "%s"}]}"""
                .formatted(grant.path("grant").asLong(), build, reason, url, newest, older)));

        // once: the grant is used up, so a replay of an even older InRelease is refused again
        mirror.attacks.put("/dists/stable/InRelease", HostileMirror.bytes(oldInReleases.get(20)));
        Map<String, Object> replayed = built("rolled");
        assertThat(replayed).containsEntry("status", "failed");
        assertThat((String) replayed.get("failure_reason")).contains("the InRelease is dated " + releaseDates.get(20) + ", before " + older);
    }

    /** Triggers a build of {@code stack} as the platform user and waits for its end; its row. */
    private Map<String, Object> built(String stack) throws Exception {
        HttpResponse<String> triggered = send("POST", "/api/stacks/" + stack + "/builds", "platform", null);
        assertThat(triggered.statusCode()).as(triggered.body()).isEqualTo(202);
        long id = JSON.readTree(triggered.body()).path("build").asLong();
        waitFor(Duration.ofSeconds(90), "build " + id + " done", () -> !superuser.sql("SELECT status FROM build WHERE id = ?").param(id)
                .query(String.class).single().matches("queued|running"));
        return superuser.sql("SELECT id, status, failure_reason FROM build WHERE id = ?").param(id).query().singleRow();
    }

    private static List<String> names(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.properties().forEach(e -> names.add(e.getKey()));
        return names;
    }

    private static double value(String metrics, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static JsonNode assertProblem(HttpResponse<String> response, int status, String type, String detail) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.path("type").asString()).isEqualTo("urn:kiln:problem:" + type);
        assertThat(body.path("status").asInt()).isEqualTo(status);
        assertThat(body.path("detail").asString()).isEqualTo(detail);
        assertThat(body.path("errorId").asString()).matches("[0-9a-f]{16}");
        return body;
    }

    private static String basic(String user) {
        return basic(user, user + "-pw");
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder request(String path, String user) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30));
        if (user != null) {
            b.header("Authorization", basic(user));
        }
        return b;
    }

    private HttpResponse<String> get(String path, String user) throws IOException, InterruptedException {
        return HTTP.send(request(path, user).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String method, String path, String user, String body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = request(path, user).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> bearer(String method, String path, String token, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = request(path, null).header("Authorization", "Bearer " + token).method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private void waitFor(Duration timeout, String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "\n" + read(log).lines()
                        .filter(l -> l.contains("WARN") || l.contains("ERROR")).reduce("", (a, b) -> a + b + "\n"));
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
