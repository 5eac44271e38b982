package dev.kiln.console;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.sun.net.httpserver.HttpServer;
import dev.kiln.database.Database;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPackages;
import dev.kiln.testing.TestRegistry;
import dev.kiln.testing.Zips;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The console, the review API, the evidence export and webhooks against one running Kiln ({@code java
 * -jar target/kiln.jar serve}, embedded PostgreSQL, Debian's docker-registry) that builds real images: a
 * java-like stack of real Debian packages with a JRE jlink makes here, updated once by a "security fix"
 * the archive watch sees before the build that ships it, and a small stack that carries a private key
 * and an access key. Debian's chromium, driven by Selenium through chromedriver, signs in as each role;
 * a screenshot of every page is kept in {@code target/console-screenshots}. A webhook receiver fails its
 * first request and checks every signature.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Path DEBS = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"), "debs");
    private static final Path SHOTS = Path.of("target/console-screenshots");
    private static final String SECRET = "kiln-webhook-test-secret-0123456789";
    private static final String JRE = "/usr/lib/jvm/java-like";

    private Path tmp;
    private TestArchive repo;
    private TestRegistry registry;
    private Database database;
    private JdbcClient db;
    private Process service;
    private Path log;
    private int port;
    private HttpServer receiver;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();
    private WebDriver browser;
    private int shot;

    private long first;
    /** The build of a stack of two architectures (amd64, arm64): an index over two platform images. */
    private long multi;
    private long second;
    private long leaky;
    private Instant fixSeen;

    private record Received(int status, Map<String, String> headers, byte[] body) {
    }

    @BeforeAll
    void startKiln(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(DEBS.resolve("complete")).as("real Debian packages: run .ci/debs first").exists();
        repo = new TestArchive(tmp.resolve("repo"));
        try (var debs = Files.list(DEBS)) {
            debs.filter(p -> p.toString().endsWith(".deb")).forEach(p -> repo.add("stable", p));
        }
        repo.add("stable", TestPackages.jre(tmp, "java-like-jre", "21.0.1", JRE));
        repo.add("stable", fix("1.0"));
        repo.helloStatic("stable");
        repo.add("stable", leakyPackage());
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("java.yaml"), javaStack(""));
        Files.writeString(catalog.resolve("leaky.yaml"), repo.stackHead("a stack whose package carries secrets") + """
                packages: [hello-static, leaky-config]
                entrypoint: [/usr/bin/hello]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/leaky
                """);

        receiver = HttpServer.create(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/hook", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            // the receiver is down for its first request: Kiln must try again
            int status = requests.incrementAndGet() == 1 ? 503 : 204;
            Map<String, String> headers = new LinkedHashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.get(0)));
            received.add(new Received(status, headers, body));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        receiver.start();

        registry = new TestRegistry(tmp);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("db"), 2);
        Database.Settings su = database.superuser();
        db = JdbcClient.create(new DriverManagerDataSource(su.url(), su.username(), su.password()));
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        log = tmp.resolve("kiln.log");
        start(List.of());
        first = build("java");
        assertThat(buildStatus(first)).as(read(log)).isEqualTo("succeeded");
        // the receiver's first answer (503) is for this build: the retry is what is under test, not the restart
        waitFor(Duration.ofSeconds(30), "the first build's first delivery attempt", () -> !received.isEmpty());
        // an operator adds a signing key and restarts the service (SIGTERM, then start again on the same
        // database): the first build stays unsigned, every later one is signed, attested and checked
        TestArchive.run(List.of("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "kiln.key"), tmp);
        stop();
        start(List.of("--kiln.signing.key=" + tmp.resolve("kiln.key")));
        // a security fix reaches the archive; the watch sees it well before any build ships it
        repo.add("stable", fix("1.1"));
        repo.publish("stable", Instant.now(), Instant.now().plus(Duration.ofDays(7)));
        waitFor(Duration.ofSeconds(60), "the archive watch to see kiln-fix 1.1", () -> db.sql(
                "SELECT count(*) FROM package_seen WHERE name = 'kiln-fix' AND version = '1.1'").query(Long.class).single() == 1);
        fixSeen = db.sql("SELECT first_seen FROM package_seen WHERE name = 'kiln-fix' AND version = '1.1'")
                .query(java.sql.Timestamp.class).single().toInstant();
        // and the stack definition changes too, so the next build has both diffs
        Files.writeString(catalog.resolve("java.yaml"), javaStack("  KILN_EDITION: \"2\"\n"));
        waitFor(Duration.ofSeconds(30), "the catalog sync to record the change", () -> db.sql(
                "SELECT count(*) FROM audit WHERE action = 'stack.changed' AND subject = 'java'").query(Long.class).single() == 1);
        Thread.sleep(2000);
        second = build("java");
        assertThat(buildStatus(second)).as(read(log)).isEqualTo("succeeded");
        leaky = build("leaky");
        assertThat(buildStatus(leaky)).as(read(log)).isEqualTo("succeeded");

        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-extensions", "--disable-sync", "--no-first-run", "--window-size=1366,900");
        // chromedriver's log goes to a file: the test JVM's stdout is the build tool's channel
        ChromeDriverService driver = new ChromeDriverService.Builder().usingDriverExecutable(new java.io.File("/usr/bin/chromedriver"))
                .usingAnyFreePort().withLogFile(Path.of("target/chromedriver.log").toAbsolutePath().toFile()).build();
        browser = new ChromeDriver(driver, options);
        browser.manage().timeouts().implicitlyWait(Duration.ofSeconds(2));
        Files.createDirectories(SHOTS);
        try (var old = Files.list(SHOTS)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
    }

    /** Starts {@code kiln serve} on the test's port, database and data directory, with {@code extra} arguments. */
    private void start(List<String> extra) throws Exception {
        Database.Settings s = database.settings();
        Path catalog = tmp.resolve("catalog");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-jar", Path.of("target/kiln.jar").toAbsolutePath().toString(), "serve",
                "--catalog", catalog.toString(), "--data-dir", tmp.resolve("data").toString(), "--server.port=" + port,
                "--spring.datasource.url=" + s.url(), "--spring.datasource.username=" + s.username(),
                "--spring.datasource.password=" + s.password(), "--spring.flyway.user=" + s.ownerUsername(),
                "--spring.flyway.password=" + s.ownerPassword(),
                "--kiln.build.target=" + registry.address() + "/console",
                "--kiln.service.build-on-catalog-change=false", "--kiln.service.catalog-sync=2s", "--kiln.service.in-release-reuse=0s",
                "--kiln.archive-watch.interval=2s",
                "--kiln.users[0].name=reader", "--kiln.users[0].password={noop}reader-pw",
                "--kiln.users[1].name=platform", "--kiln.users[1].password={noop}platform-pw", "--kiln.users[1].roles=platform",
                "--kiln.users[2].name=compliance", "--kiln.users[2].password={noop}compliance-pw", "--kiln.users[2].roles=compliance",
                "--kiln.webhooks.endpoints[0].name=app-images",
                "--kiln.webhooks.endpoints[0].url=http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook",
                "--kiln.webhooks.endpoints[0].secret=" + SECRET,
                "--kiln.webhooks.first-retry=1s", "--kiln.webhooks.poll=500ms"));
        command.addAll(extra);
        service = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        waitFor(Duration.ofSeconds(180), "the service up", () -> {
            if (!service.isAlive()) {
                throw new IllegalStateException("the service exited: " + read(log));
            }
            return status("GET", "/actuator/health/readiness", null) == 200;
        });
    }

    /** Stops the service as an operator would (SIGTERM), waiting for it to end. */
    private void stop() throws Exception {
        service.destroy();
        if (!service.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            service.destroyForcibly().waitFor();
        }
    }

    @AfterAll
    void tearDown() {
        if (browser != null) {
            browser.quit();
        }
        if (service != null) {
            service.destroyForcibly();
            try {
                Files.copy(log, Path.of("target/console-it-kiln.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                // the test's outcome stands; only the copy of the service log is missing
            }
        }
        if (receiver != null) {
            receiver.stop(0);
        }
        Resources.close(database, registry, repo);
    }

    // ---- the browser ----------------------------------------------------------------------------

    @Test
    @Order(1)
    void aReaderSignsInFindsTheApprovedJavaDigestOpensItsBuildAndComparesTwoBuilds() throws Exception {
        String approved = db.sql("SELECT b.image_digest FROM stack s JOIN build b ON b.id = s.current_build_id WHERE s.name = 'java'")
                .query(String.class).single();
        signIn("reader", "reader-pw");
        assertThat(URI.create(browser.getCurrentUrl()).getPath()).isEqualTo("/console/");
        WebElement row = browser.findElement(By.id("stack-java"));
        assertThat(row.findElement(By.cssSelector(".state")).getText()).isEqualTo("current");
        assertThat(row.findElement(By.cssSelector("a.digest")).getAttribute("title")).isEqualTo(approved);
        assertThat(row.findElement(By.cssSelector("input.pull")).getAttribute("value"))
                .isEqualTo(registry.address() + "/console/golden/java@" + approved);
        assertThat(browser.findElement(By.id("stack-leaky")).getText()).contains("leaky");
        screenshot("stacks");

        clickAndWait(row.findElement(By.cssSelector("a.digest")));
        assertThat(browser.findElement(By.id("build-id")).getText()).isEqualTo(Long.toString(second));
        assertThat(browser.findElement(By.id("image-digest")).getText()).isEqualTo(approved);
        assertThat(browser.findElement(By.id("check-non-root-user")).getText()).contains("pass").contains("65532");
        assertThat(browser.findElement(By.id("check-no-secrets")).getText()).contains("pass");
        assertThat(browser.findElement(By.id("check-signed")).getText()).contains("pass").contains("signed with key "
                + json(get("/api/signing", "reader")).path("keyId").asString());
        assertThat(browser.findElement(By.id("check-sbom")).getText()).contains("pass").contains("attached to the image as signed attestations");
        assertThat(browser.findElement(By.id("signature")).getText()).contains("signed with key");
        assertThat(browser.findElement(By.id("verify-hint")).getText()).contains("cosign verify --key kiln.pub --insecure-ignore-tlog -a dev.kiln.stack=java "
                + registry.address() + "/console/golden/java@" + approved);
        assertThat(browser.findElement(By.id("package-diff")).getText()).contains("kiln-fix").contains("1.0").contains("1.1");
        assertThat(browser.findElement(By.id("definition-diff")).getText()).contains("env.KILN_EDITION").contains("\"2\"");
        assertThat(browser.findElement(By.id("download-spdx")).getAttribute("href")).endsWith("/console/builds/" + second + "/documents/spdx");
        screenshot("build");
        // the build before the key: measured unsigned, never assumed from today's configuration
        browser.get(url("/console/builds/" + first));
        assertThat(browser.findElement(By.id("check-signed")).getText()).contains("fail")
                .contains("not signed: build " + first + " recorded no signature (no kiln.signing.key when it ran)");
        assertThat(browser.findElement(By.id("check-sbom")).getText()).contains("warn").contains("not attached");
        assertThat(browser.findElements(By.id("verify-hint"))).isEmpty();
        screenshot("build-unsigned");
        browser.get(url("/console/builds/" + second));

        clickAndWait(browser.findElement(By.id("compare-previous")));
        assertThat(browser.findElement(By.id("compare-title")).getText()).contains(Long.toString(first)).contains(Long.toString(second));
        assertThat(browser.findElement(By.id("compare-packages")).getText()).contains("kiln-fix 1.0 1.1");
        assertThat(browser.findElement(By.id("compare-definition")).getText()).contains("env.KILN_EDITION");
        assertThat(browser.findElement(By.id("compare-layers")).getText()).contains("kiln-fix");
        screenshot("compare");

        // the same through the form: choose the stack, then the two builds
        browser.get(url("/console/compare"));
        new Select(browser.findElement(By.id("compare-stack"))).selectByValue("java");
        clickAndWait(browser.findElement(By.id("compare-go")));
        new Select(browser.findElement(By.id("compare-from"))).selectByValue(Long.toString(first));
        new Select(browser.findElement(By.id("compare-to"))).selectByValue(Long.toString(second));
        clickAndWait(browser.findElement(By.id("compare-go")));
        assertThat(browser.findElement(By.id("compare-packages")).getText()).contains("kiln-fix");

        browser.get(url("/console/stacks/java"));
        assertThat(browser.findElement(By.cssSelector("svg.chart")).findElements(By.cssSelector("circle")).size()).isGreaterThanOrEqualTo(4);
        assertThat(browser.findElements(By.cssSelector("form.pin-form"))).as("a reader gets no pin form").isEmpty();
        screenshot("stack-as-reader");

        browser.get(url("/console/digests?digest=" + firstDigest()));
        assertThat(browser.findElement(By.id("digest-state")).getText()).startsWith("superseded");
        screenshot("digest");

        // builds across stacks, filtered as the API's list is; a bad filter is said, never ignored
        browser.get(url("/console/builds"));
        new Select(browser.findElement(By.name("stack"))).selectByValue("java");
        new Select(browser.findElement(By.name("status"))).selectByValue("succeeded");
        WebElement before = browser.findElement(By.id("build-count"));
        browser.findElement(By.cssSelector("#builds-filter button")).click();
        // the filter is a GET form: wait for the new page, not the old one's count
        new org.openqa.selenium.support.ui.WebDriverWait(browser, java.time.Duration.ofSeconds(30))
                .until(org.openqa.selenium.support.ui.ExpectedConditions.stalenessOf(before));
        assertThat(browser.getCurrentUrl()).contains("stack=java").contains("status=succeeded");
        assertThat(browser.findElement(By.id("build-count")).getText()).isEqualTo("2 builds");
        assertThat(browser.findElements(By.cssSelector("#all-builds tbody tr")).stream().map(r -> r.findElement(By.tagName("a")).getText()))
                .containsExactly(Long.toString(second), Long.toString(first));
        screenshot("builds");
        browser.get(url("/console/builds?status=broken&since=yesterday"));
        assertThat(browser.findElements(By.cssSelector(".flash.error")).stream().map(WebElement::getText))
                .anySatisfy(t -> assertThat(t).startsWith("status: 'broken' is not one of"))
                .anySatisfy(t -> assertThat(t).startsWith("since: 'yesterday' is not a date"));
        assertThat(browser.findElement(By.id("build-count")).getText()).isEqualTo("0 builds");

        browser.get(url("/console/audit?stack=java"));
        assertThat(browser.findElement(By.id("chain")).getText()).contains("chain intact");
        assertThat(browser.findElement(By.cssSelector("table.audit")).getText()).contains("build.requested").contains("stack.changed");
        screenshot("audit");
    }

    @Test
    @Order(2)
    void aReaderIsRefusedAPinAndTheExport() throws Exception {
        long pins = db.sql("SELECT count(*) FROM pin").query(Long.class).single();
        // the reader posts a pin with a valid CSRF token of its own session: the role is what refuses it
        String token = browser.findElement(By.cssSelector("form.signout input[name=_csrf]")).getAttribute("value");
        ((JavascriptExecutor) browser).executeScript("""
                const f = document.createElement('form'); f.method = 'post'; f.action = '/console/stacks/java/pins';
                for (const [k, v] of [['digest', arguments[0]], ['reason', 'reader tries'], ['_csrf', arguments[1]]]) {
                  const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
                document.body.appendChild(f); f.submit();""", firstDigest(), token);
        assertThat(browser.findElement(By.id("denied")).getText()).isEqualTo("Not allowed");
        screenshot("denied-pin");
        browser.get(url("/console/export"));
        assertThat(browser.findElement(By.id("denied")).getText()).isEqualTo("Not allowed");
        assertThat(db.sql("SELECT count(*) FROM pin").query(Long.class).single()).isEqualTo(pins);
        signOut();
    }

    @Test
    @Order(3)
    void aPlatformUserPinsWithAReasonAndAFormWithoutItsTokenChangesNothing() throws Exception {
        signIn("platform", "platform-pw");
        browser.get(url("/console/stacks/java"));
        WebElement form = browser.findElement(By.id("image-" + tag(first))).findElement(By.cssSelector("form.pin-form"));
        form.findElement(By.name("reason")).sendKeys("INC-42: app team still on this base");
        clickAndWait(form.findElement(By.tagName("button")));
        assertThat(browser.findElement(By.cssSelector(".flash.done")).getText()).isEqualTo("pinned java:" + tag(first));
        assertThat(db.sql("SELECT pinned_by || ' ' || reason FROM pin p JOIN image_tag t ON t.id = p.image_tag_id WHERE t.tag = ?")
                .param(tag(first)).query(String.class).single()).isEqualTo("console:platform INC-42: app team still on this base");
        assertThat(browser.findElement(By.id("pin-" + tag(first))).getText()).contains("INC-42");
        screenshot("stack-as-platform");

        // the same form posted without its CSRF token (a forged cross-site form) is refused and records nothing
        long audit = db.sql("SELECT count(*) FROM audit").query(Long.class).single();
        ((JavascriptExecutor) browser).executeScript("""
                const f = document.createElement('form'); f.method = 'post'; f.action = '/console/stacks/java/unpin';
                for (const [k, v] of [['digest', arguments[0]], ['reason', 'forged']]) {
                  const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i); }
                document.body.appendChild(f); f.submit();""", firstDigest());
        assertThat(browser.getPageSource()).doesNotContain("unpinned");
        assertThat(db.sql("SELECT count(*) FROM pin WHERE unpinned_at IS NULL").query(Long.class).single()).isEqualTo(1);
        assertThat(db.sql("SELECT count(*) FROM audit").query(Long.class).single()).isEqualTo(audit);
        signOut();
    }

    @Test
    @Order(4)
    void complianceExportsEvidenceFromTheConsoleAndTheZipMatchesTheBuildsDocuments() throws Exception {
        signIn("compliance", "compliance-pw");
        browser.get(url("/console/export"));
        screenshot("export");
        String href = browser.findElement(By.id("export-zip")).getAttribute("href");
        byte[] zip = fetchInBrowser(href);
        Map<String, byte[]> files = Zips.unzip(zip);
        assertThat(files).containsKeys("README.txt", "export.json", "builds.csv", "audit.csv", "SHA256SUMS");
        checkZip(files);
        signOut();
    }

    // ---- the API ------------------------------------------------------------------------------

    @Test
    @Order(10)
    void theBuildListFiltersAndRefusesUnknownOrMalformedParameters() throws Exception {
        JsonNode java = json(get("/api/builds?stack=java&status=succeeded", "reader"));
        assertThat(java.path("total").asLong()).isEqualTo(2);
        assertThat(java.path("items").get(0).path("id").asLong()).isEqualTo(second);
        assertThat(json(get("/api/builds?trigger=api&since=" + Instant.now().minus(Duration.ofHours(1)), "reader")).path("total").asLong())
                .isEqualTo(3);
        assertThat(json(get("/api/builds?until=2000-01-01T00:00:00Z", "reader")).path("total").asLong()).isZero();
        assertProblem(get("/api/builds?statsu=failed", "reader"), 400, "bad-parameter",
                "unknown parameter 'statsu' (this operation takes: page, since, size, stack, status, trigger, until)");
        assertProblem(get("/api/builds?status=broken", "reader"), 400, "bad-parameter",
                "parameter 'status': 'broken' is not one of cancelled, failed, quarantined, queued, running, succeeded, up-to-date");
        assertProblem(get("/api/builds?since=yesterday", "reader"), 400, "bad-request",
                "parameter 'since' must be an ISO-8601 instant such as 2026-01-31T00:00:00Z");
        assertProblem(get("/api/stacks/java/builds?sise=5", "reader"), 400, "bad-parameter",
                "unknown parameter 'sise' (this operation takes: page, size)");
    }

    @Test
    @Order(11)
    void aDigestIsCurrentOrSupersededWithWhatChangedAndAVersionLineNamesItsApprovedImage() throws Exception {
        JsonNode old = json(get("/api/digests/" + firstDigest(), "reader"));
        assertThat(old.path("state").asString()).isEqualTo("superseded");
        assertThat(old.path("current").path("build").asLong()).isEqualTo(second);
        assertThat(old.path("packageChanges").toString()).contains("{\"name\":\"kiln-fix\",\"from\":\"1.0\",\"to\":\"1.1\"}");
        assertThat(old.path("definitionChanges").toString()).contains("env.KILN_EDITION");
        JsonNode now = json(get("/api/digests/" + old.path("current").path("digest").asString(), "reader"));
        assertThat(now.path("state").asString()).isEqualTo("current");
        JsonNode line = json(get("/api/stacks/java/lines/21", "reader"));
        assertThat(line.path("build").asLong()).isEqualTo(second);
        assertThat(line.path("pull").asString()).isEqualTo(registry.address() + "/console/golden/java@" + now.path("digest").asString());
        assertProblem(get("/api/stacks/java/lines/17", "reader"), 404, "no-approved-image",
                "stack 'java' has no approved image of version line '17' (lines with one: 21)");
        assertProblem(get("/api/digests/sha256:" + "0".repeat(64), "reader"), 404, "no-such-image", "Kiln never published sha256:" + "0".repeat(64));
        assertProblem(get("/api/digests/latest", "reader"), 400, "bad-parameter",
                "the digest 'latest' is not sha256:<64 lower-case hex digits>");
    }

    @Test
    @Order(12)
    void theChecklistIsMeasuredInTheBuildAndFindsTheSecretsOfTheLeakyImage() throws Exception {
        Map<String, String> java = checklist(second);
        assertThat(java).containsEntry("non-root-user", "pass").containsEntry("no-setuid", "pass").containsEntry("no-shells", "pass")
                .containsEntry("no-package-managers", "pass").containsEntry("read-only-root-fs", "pass").containsEntry("root-owned", "pass")
                .containsEntry("immutable-tag", "warn").containsEntry("signed", "pass").containsEntry("sbom", "pass")
                .containsEntry("scanned", "not-applicable").containsEntry("labels", "pass").containsEntry("no-secrets", "pass")
                .containsEntry("customer-key", "not-applicable");
        JsonNode items = json(get("/api/builds/" + leaky + "/checklist", "reader")).path("items");
        JsonNode secrets = find(items, "no-secrets");
        assertThat(secrets.path("status").asString()).isEqualTo("fail");
        assertThat(secrets.path("evidence").asString()).contains("private key (PEM) in /usr/share/leaky-config/id_ecdsa")
                .contains("AWS access key id in /usr/share/leaky-config/credentials (AKIAIO****LE)").doesNotContain("AKIAIOSFODNN7EXAMPLE");
        assertThat(find(items, "no-shells").path("status").asString()).isEqualTo("not-applicable");
        assertThat(find(items, "no-secrets").path("recommendations").toString()).contains("Credentials and confidentiality");
    }

    @Test
    @Order(13)
    void remediationTimeRunsFromWhenTheWatchSawTheFixToItsApproval() throws Exception {
        JsonNode changes = json(get("/api/builds/" + second + "/remediation", "reader"));
        JsonNode fix = null;
        for (JsonNode c : changes) {
            if (c.path("name").asString().equals("kiln-fix")) {
                fix = c;
            }
        }
        assertThat(fix).as(changes.toString()).isNotNull();
        Instant approved = db.sql("SELECT finished_at FROM build WHERE id = ?").param(second).query(java.sql.Timestamp.class).single().toInstant();
        assertThat(Instant.parse(fix.path("firstSeen").asString())).isEqualTo(fixSeen);
        assertThat(fix.path("seenBy").asString()).isEqualTo("java");
        assertThat(fix.path("seconds").asLong()).isEqualTo(approved.getEpochSecond() - fixSeen.getEpochSecond()).isGreaterThanOrEqualTo(2);
        JsonNode summary = json(get("/api/remediation?stack=java", "reader"));
        assertThat(summary.get(0).path("days").asInt()).isEqualTo(30);
        assertThat(summary.get(0).path("stacks").get(0).path("worst").asString()).isEqualTo("kiln-fix 1.1");
        waitFor(Duration.ofSeconds(40), "the remediation gauge", () -> {
            try {
                return body(get("/actuator/prometheus", "reader")).contains("kiln_remediation_seconds{stack=\"java\",stat=\"worst\",window=\"30d\"}");
            } catch (Exception e) {
                return false;
            }
        });
        String metrics = body(get("/actuator/prometheus", "reader"));
        assertThat(metrics).contains("# HELP kiln_remediation_seconds Remediation time").contains("kiln_webhook_deliveries{status=\"delivered\"}");
    }

    @Test
    @Order(14)
    void approvalsAreSentSignedAndRetriedAfterTheReceiverFailsOnce() throws Exception {
        waitFor(Duration.ofSeconds(60), "three deliveries", () -> received.stream().filter(r -> r.status() == 204).count() == 3);
        for (Received r : received) {
            String signature = r.headers().get("kiln-signature");
            assertThat(signature).matches("t=\\d+,v1=[0-9a-f]{64}");
            String t = signature.substring(2, signature.indexOf(','));
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            mac.update((t + ".").getBytes(StandardCharsets.US_ASCII));
            assertThat(signature.substring(signature.indexOf("v1=") + 3)).isEqualTo(HexFormat.of().formatHex(mac.doFinal(r.body())));
            assertThat(r.headers()).containsEntry("kiln-event", "image.approved").containsEntry("content-type", "application/json");
        }
        Received failed = received.get(0);
        assertThat(failed.status()).isEqualTo(503);
        JsonNode payload = JSON.readTree(failed.body());
        assertThat(payload.path("build").asLong()).isEqualTo(first);
        Received retried = received.stream().skip(1).filter(r -> r.headers().get("kiln-delivery").equals(failed.headers().get("kiln-delivery")))
                .findFirst().orElseThrow();
        assertThat(retried.status()).isEqualTo(204);
        assertThat(retried.body()).isEqualTo(failed.body());
        JsonNode deliveries = json(get("/api/webhooks/deliveries?build=" + first, "reader"));
        assertThat(deliveries.get(0).path("status").asString()).isEqualTo("delivered");
        assertThat(deliveries.get(0).path("attempts").asInt()).isEqualTo(2);
        assertThat(deliveries.get(0).path("tries").get(0).path("statusCode").asInt()).isEqualTo(503);
        assertThat(deliveries.get(0).path("tries").get(1).path("statusCode").asInt()).isEqualTo(204);
        JsonNode approved = JSON.readTree(received.stream().filter(r -> JSON.readTree(r.body()).path("build").asLong() == second)
                .findFirst().orElseThrow().body());
        assertThat(approved.path("pull").asString()).startsWith(registry.address() + "/console/golden/java@sha256:");
        assertThat(approved.path("packageChanges").toString()).contains("kiln-fix");
    }

    @Test
    @Order(15)
    void theExportValidatesAndOnlyComplianceMayTakeIt() throws Exception {
        String period = "?since=" + Instant.now().minus(Duration.ofHours(2)) + "&until=" + Instant.now().plus(Duration.ofMinutes(5));
        assertThat(get("/api/evidence/export.zip" + period, "platform").statusCode()).isEqualTo(403);
        HttpResponse<byte[]> csv = get("/api/evidence/builds.csv" + period, "compliance");
        assertThat(csv.statusCode()).isEqualTo(200);
        List<String> lines = new String(csv.body(), StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.get(0)).isEqualTo("id,stack,status,trigger,triggered_by,requested_at,started_at,finished_at,duration_seconds,"
                + "catalog_revision,kiln_version,stack_digest,lock_digest,target,repository,tag,image_digest,compressed_bytes,package_changes,"
                + "previous_build_id,approved,signed,checklist,checklist_failed,failure_reason");
        long builds = db.sql("SELECT count(*) FROM build").query(Long.class).single();
        assertThat(lines).hasSize((int) builds + 1);
        String secondLine = lines.stream().filter(l -> l.startsWith(second + ",")).findFirst().orElseThrow();
        assertThat(secondLine).contains(",java,succeeded,api,api:platform,").contains("kiln-fix 1.0->1.1").contains(",true,true,");
        assertThat(lines.stream().filter(l -> l.startsWith(first + ",")).findFirst().orElseThrow()).contains(",true,false,").contains("signed");
        List<String> audit = new String(get("/api/evidence/audit.csv" + period, "compliance").body(), StandardCharsets.UTF_8).lines().toList();
        assertThat(audit.get(0)).isEqualTo("seq,id,at,actor,action,subject,detail,prev_hash,hash");
        assertThat(audit).hasSize((int) (long) db.sql("SELECT count(*) FROM audit").query(Long.class).single() + 1);

        JsonNode export = JSON.readTree(get("/api/evidence/export.json" + period, "compliance").body());
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                .getSchema(new String(get("/api/evidence/export.schema.json", "compliance").body(), StandardCharsets.UTF_8));
        Set<ValidationMessage> problems = schema.validate(JSON.readTree(JSON.writeValueAsString(export)).toString(),
                com.networknt.schema.InputFormat.JSON);
        assertThat(problems).as(problems.toString()).isEmpty();
        assertThat(export.path("approvedImages").size()).isEqualTo(3);
        assertThat(export.path("audit").path("chain").path("intact").asBoolean()).isTrue();

        Map<String, byte[]> files = Zips.unzip(get("/api/evidence/export.zip" + period, "compliance").body());
        checkZip(files);
    }

    @Test
    @Order(16)
    void retireNowRetiresAnImageWithItsReasonButNeverTheApprovedOrAPinnedOne() throws Exception {
        assertProblem(post("/api/stacks/leaky/retirement", "platform", "{\"tag\":\"" + tag(leaky) + "\",\"reason\":\"clean up\"}"), 409,
                "approved-image", "leaky:" + tag(leaky) + " is the approved image (" + digest(leaky) + "); it is never retired");
        assertProblem(post("/api/stacks/java/retirement", "platform", "{\"tag\":\"" + tag(first) + "\",\"reason\":\"clean up\"}"), 409,
                "pinned", "java:" + tag(first) + " is pinned (console:platform: INC-42: app team still on this base); unpin it first");
        HttpResponse<byte[]> refused = post("/api/stacks/java/retirement", "reader", "{\"tag\":\"" + tag(first) + "\",\"reason\":\"x\"}");
        assertThat(refused.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(refused.body()).path("detail").asString()).contains("/api/stacks/java/retirement").endsWith("needs the platform role");
        JsonNode pins = json(get("/api/pins", "reader"));
        assertThat(pins.size()).isEqualTo(1);
        assertThat(pins.get(0).path("tag").asString()).isEqualTo(tag(first));
        assertThat(send("DELETE", "/api/stacks/java/pins?digest=" + firstDigest() + "&reason=done", "platform", null).statusCode()).isEqualTo(200);
        HttpResponse<byte[]> retired = post("/api/stacks/java/retirement", "platform", "{\"tag\":\"" + tag(first) + "\",\"reason\":\"CVE fixed in 1.1\"}");
        assertThat(retired.statusCode()).as(body(retired)).isEqualTo(200);
        assertThat(json(retired).path("retired").toString()).isEqualTo("[\"" + tag(first) + "\"]");
        assertThat(registry.tags("console/golden/java")).doesNotContain(tag(first));
        JsonNode status = json(get("/api/digests/" + firstDigest(), "reader"));
        assertThat(status.path("state").asString()).isEqualTo("retired");
        assertThat(status.path("retired").path("reason").asString()).isEqualTo("CVE fixed in 1.1");
        assertThat(status.path("retired").path("by").asString()).isEqualTo("api:platform");
    }

    @Test
    @Order(17)
    void anImageOfAStackRemovedFromTheCatalogIsNoLongerCurrent() throws Exception {
        assertThat(json(get("/api/digests/" + digest(leaky), "reader")).path("state").asString()).isEqualTo("current");
        assertThat(json(get("/api/stacks/leaky/lines/1", "reader")).path("digest").asString()).isEqualTo(digest(leaky));
        Files.delete(tmp.resolve("catalog").resolve("leaky.yaml"));
        waitFor(Duration.ofSeconds(30), "the catalog sync to record the removal", () -> db.sql(
                "SELECT count(*) FROM audit WHERE action = 'stack.removed' AND subject = 'leaky'").query(Long.class).single() == 1);
        JsonNode status = json(get("/api/digests/" + digest(leaky), "reader"));
        assertThat(status.path("state").asString()).isEqualTo("removed");
        assertThat(Instant.parse(status.path("stackRemovedAt").asString())).isBefore(Instant.now());
        HttpResponse<byte[]> line = get("/api/stacks/leaky/lines/1", "reader");
        assertThat(line.statusCode()).as(body(line)).isEqualTo(410);
        JsonNode gone = JSON.readTree(line.body());
        assertThat(gone.path("type").asString()).isEqualTo("urn:kiln:problem:stack-removed");
        assertThat(Instant.parse(gone.path("removedAt").asString())).isEqualTo(Instant.parse(status.path("stackRemovedAt").asString()));
        signIn("reader", "reader-pw");
        assertThat(browser.findElement(By.id("stack-leaky")).findElement(By.cssSelector(".state")).getText()).isEqualTo("removed");
        browser.get(url("/console/digests?digest=" + digest(leaky)));
        assertThat(browser.findElement(By.id("digest-state")).getText()).startsWith("removed");
        assertThat(browser.findElement(By.id("digest-removed")).getText()).startsWith("The stack leaky was removed from the catalog on ")
                .contains("gets no more updates");
        screenshot("digest-removed");
        signOut();
    }

    @Test
    @Order(18)
    void aBuildOfTwoArchitecturesShowsItsPlatformImages() throws Exception {
        // the archive gains arm64, and a stack of both architectures is added to the catalog
        repo.architectures("stable", "amd64", "arm64");
        repo.debFor("all", "stable", "multi-data", "1.0");
        for (String arch : List.of("amd64", "arm64")) {
            repo.debFor(arch, "stable", "multi-app", "1.0", "Depends: multi-data");
        }
        repo.publish("stable", Instant.now(), Instant.now().plus(Duration.ofDays(7)));
        Files.writeString(tmp.resolve("catalog").resolve("multi.yaml"), repo.stackHead("a stack of two architectures")
                .replace("architecture: amd64", "architectures: [amd64, arm64]") + """
                packages: [multi-app]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/multi
                """);
        waitFor(Duration.ofSeconds(30), "the catalog sync to see the new stack", () -> db.sql(
                "SELECT count(*) FROM audit WHERE action = 'stack.added' AND subject = 'multi'").query(Long.class).single() == 1);
        multi = build("multi");
        assertThat(buildStatus(multi)).as(read(log)).isEqualTo("succeeded");
        JsonNode recorded = JSON.readTree(db.sql("SELECT platforms::text FROM build WHERE id = ?").param(multi).query(String.class).single());
        assertThat(recorded.size()).isEqualTo(2);

        signIn("reader", "reader-pw");
        browser.get(url("/console/builds/" + multi));
        List<WebElement> rows = browser.findElements(By.cssSelector("#platforms tbody tr"));
        List<String> shown = rows.stream().map(r -> r.findElement(By.cssSelector(".platform")).getText()).toList();
        assertThat(shown).containsExactly(recorded.get(0).path("platform").asString(), recorded.get(1).path("platform").asString());
        assertThat(shown.get(0)).isEqualTo("linux/amd64");
        assertThat(shown.get(1)).startsWith("linux/arm64");
        for (int i = 0; i < 2; i++) {
            assertThat(rows.get(i).findElement(By.cssSelector(".digest")).getText()).isEqualTo(recorded.get(i).path("digest").asString())
                    .isNotEqualTo(digest(multi));
        }
        screenshot("build-platforms");
        signOut();
    }

    /**
     * Over HTTP, the two-architecture build's platforms where the API serves the current image and the
     * build, and each platform image's own signed documents through {@code ?image=}: each is the
     * predicate of the bundle attached to that platform image (its statement about that digest), the
     * SPDX document listing that platform's packages only.
     */
    @Test
    @Order(19)
    void theApiListsTheIndexsPlatformsAndServesEachPlatformImagesOwnDocuments() throws Exception {
        String index = digest(multi);
        JsonNode recorded = JSON.readTree(db.sql("SELECT platforms::text FROM build WHERE id = ?").param(multi).query(String.class).single());
        JsonNode build = json(get("/api/builds/" + multi, "reader"));
        assertThat(build.path("imageDigest").asString()).isEqualTo(index);
        assertThat(build.path("platforms")).isEqualTo(recorded);
        String pull = registry.address() + "/" + build.path("repository").asString() + "@";
        assertThat(pull).endsWith("/golden/multi@");
        for (JsonNode image : List.of(json(get("/api/stacks/multi", "reader")).path("current"), json(get("/api/stacks/multi/digest", "reader")))) {
            assertThat(image.path("digest").asString()).isEqualTo(index);
            assertThat(image.path("platforms").valueStream().map(p -> p.path("architecture").asString() + " " + p.path("platform").asString()
                    + " " + p.path("digest").asString() + " " + p.path("pull").asString()).toList()).containsExactly(
                    "amd64 linux/amd64 " + recorded.get(0).path("digest").asString() + " " + pull + recorded.get(0).path("digest").asString(),
                    "arm64 linux/arm64 " + recorded.get(1).path("digest").asString() + " " + pull + recorded.get(1).path("digest").asString());
        }

        JsonNode evidence = json(get("/api/builds/" + multi + "/evidence", "reader"));
        Map<String, String> types = Map.of("sbom/spdx", "https://spdx.dev/Document", "sbom/cyclonedx", "https://cyclonedx.org/bom",
                "provenance", "https://slsa.dev/provenance/v1");
        for (JsonNode platform : recorded) {
            String digest = platform.path("digest").asString();
            String arch = platform.path("architecture").asString();
            for (Map.Entry<String, String> kind : types.entrySet()) {
                HttpResponse<byte[]> r = get("/api/builds/" + multi + "/" + kind.getKey() + "?image=" + digest, "reader");
                JsonNode served = json(r);
                JsonNode attached = evidence.valueStream().filter(e -> e.path("image").asString().equals(digest)
                        && e.path("predicateType").asString().equals(kind.getValue())).findFirst().orElseThrow();
                assertThat(r.headers().firstValue("Kiln-Bundle")).as(arch + " " + kind.getKey()).contains(attached.path("bundleDigest").asString());
                JsonNode statement = dev.kiln.sign.SigstoreBundle.recordedStatement(get(attached.path("bundle").asString(), "reader").body());
                assertThat("sha256:" + statement.path("subject").get(0).path("digest").path("sha256").asString()).isEqualTo(digest);
                assertThat(served).as(arch + " " + kind.getKey()).isEqualTo(statement.path("predicate"));
            }
            String spdx = body(get("/api/builds/" + multi + "/sbom/spdx?image=" + digest, "reader"));
            assertThat(spdx).contains("arch=" + arch).doesNotContain("arch=" + (arch.equals("amd64") ? "arm64" : "amd64"));
        }
        // without ?image= the SBOM is the index's, which has none: the answer names a platform image to ask for
        HttpResponse<byte[]> none = get("/api/builds/" + multi + "/sbom/spdx", "reader");
        assertThat(none.statusCode()).isEqualTo(404);
        assertThat(body(none)).contains("ask for a platform image's with ?image=" + recorded.get(0).path("digest").asString());
        JsonNode indexStatement = dev.kiln.sign.SigstoreBundle.recordedStatement(get(evidence.valueStream().filter(e -> e.path("image")
                .asString().equals(index) && e.path("predicateType").asString().equals(types.get("provenance"))).findFirst().orElseThrow()
                .path("bundle").asString(), "reader").body());
        assertThat(json(get("/api/builds/" + multi + "/provenance", "reader"))).as("the index's provenance").isEqualTo(indexStatement.path("predicate"));
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** Every approved image's documents in the zip are the build's own, byte for byte, and SHA256SUMS holds. */
    private void checkZip(Map<String, byte[]> files) throws Exception {
        Map<String, String> sums = new LinkedHashMap<>();
        new String(files.get("SHA256SUMS"), StandardCharsets.UTF_8).lines().forEach(l -> sums.put(l.substring(66), l.substring(0, 64)));
        assertThat(sums.keySet()).containsExactlyInAnyOrderElementsOf(files.keySet().stream().filter(f -> !f.equals("SHA256SUMS")).toList());
        sums.forEach((file, sum) -> assertThat(HexFormat.of().formatHex(sha256(files.get(file)))).as(file).isEqualTo(sum));
        for (long build : List.of(first, second, leaky)) {
            String folder = files.keySet().stream().filter(f -> f.startsWith("images/") && f.contains("/build-" + build + "-"))
                    .map(f -> f.substring(0, f.lastIndexOf('/') + 1)).findFirst().orElseThrow(() -> new AssertionError("no folder for " + build));
            JsonNode documents = json(get("/api/builds/" + build + "/documents", "reader")).path("documents");
            assertThat(documents.size()).isEqualTo(4);
            for (JsonNode d : documents) {
                String kind = d.path("kind").asString();
                byte[] inZip = files.get(folder + kind + ".json");
                assertThat(inZip).as(folder + kind).isNotNull();
                assertThat("sha256:" + HexFormat.of().formatHex(sha256(inZip))).isEqualTo(d.path("sha256").asString());
                assertThat(inZip).isEqualTo(get("/api/builds/" + build + "/documents/" + kind, "reader").body());
            }
            // the documents are the attestations attached to the image: each predicate inside its bundle (read
            // through the signing API, not the console's), its digest the one recorded when it was signed
            JsonNode attached = json(get("/api/builds/" + build + "/evidence", "reader"));
            List<String> bundles = files.keySet().stream().filter(f -> f.startsWith(folder + "bundles/")).toList();
            if (build == first) {
                assertThat(attached.size()).as("build " + build + " ran before the key").isZero();
                assertThat(bundles).isEmpty();
                documents.forEach(d -> assertThat(d.path("attached").asBoolean()).isFalse());
            } else {
                assertThat(bundles).hasSize(5).contains(folder + "bundles/signature.sigstore.json");
                for (JsonNode d : documents) {
                    assertThat(d.path("attached").asBoolean()).as(d.toString()).isTrue();
                    JsonNode e = null;
                    for (JsonNode x : attached) {
                        if (x.path("predicateType").asString().equals(d.path("predicateType").asString())) {
                            e = x;
                        }
                    }
                    assertThat(e).as("an attestation of " + d.path("predicateType").asString()).isNotNull();
                    assertThat(d.path("sha256").asString()).isEqualTo(e.path("predicateDigest").asString());
                    byte[] bundle = get("/api/builds/" + build + "/bundles/" + e.path("bundleDigest").asString(), "reader").body();
                    assertThat(files.get(folder + "bundles/" + d.path("kind").asString() + ".sigstore.json")).isEqualTo(bundle);
                    JsonNode statement = JSON.readTree(java.util.Base64.getDecoder().decode(
                            JSON.readTree(bundle).path("dsseEnvelope").path("payload").asString()));
                    assertThat(statement.path("subject").get(0).path("digest").path("sha256").asString()).isEqualTo(digest(build).substring(7));
                    assertThat(statement.path("predicate")).isEqualTo(JSON.readTree(files.get(folder + d.path("kind").asString() + ".json")));
                }
            }
            JsonNode checklist = JSON.readTree(files.get(folder + "checklist.json"));
            assertThat(checklist.path("digest").asString()).isEqualTo(digest(build));
            assertThat(checklist.path("items").size()).isEqualTo(13);
        }
        JsonNode spdx = JSON.readTree(files.get(files.keySet().stream().filter(f -> f.contains("/build-" + second + "-") && f.endsWith("spdx.json"))
                .findFirst().orElseThrow()));
        assertThat(spdx.toString()).contains("kiln-fix").contains("1.1");
    }

    private Map<String, String> checklist(long build) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode item : json(get("/api/builds/" + build + "/checklist", "reader")).path("items")) {
            out.put(item.path("id").asString(), item.path("status").asString());
        }
        return out;
    }

    private static JsonNode find(JsonNode items, String id) {
        for (JsonNode i : items) {
            if (i.path("id").asString().equals(id)) {
                return i;
            }
        }
        throw new AssertionError("no item " + id + " in " + items);
    }

    private String javaStack(String moreEnv) {
        return repo.stackHead("Java-like runtime with real Debian libc, CA certificates and time zones and a JRE made by jlink")
                .replace("version: \"1\"", "version: \"21\"") + """
                packages: [base-files, ca-certificates, tzdata, netbase, java-like-jre, kiln-fix]
                excludes: [openssl, debconf, debconf-2.0, awk, mawk]
                hardening:
                  removeShells: true
                  removePackageManagers: true
                  dropPaths: [/usr/share/doc, /usr/share/man, /usr/share/locale]
                env:
                  JAVA_HOME: %s
                %sentrypoint: [%s/bin/java]
                schedule:
                  cron: "0 0 0 1 1 ? 2099"
                target:
                  repository: golden/java
                """.formatted(JRE, moreEnv, JRE);
    }

    /** The "security fix": a small library package whose new version the archive publishes later. */
    private Path fix(String version) throws IOException {
        Path tree = Files.createDirectories(tmp.resolve("kiln-fix-" + version + "/usr/share/kiln-fix"));
        Files.writeString(tree.resolve("VERSION"), version + "\n");
        return TestPackages.deb(tmp, tmp.resolve("kiln-fix-" + version), "kiln-fix", version);
    }

    /** A package that carries a real private key and an access key (AWS's documented example id). */
    private Path leakyPackage() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("leaky/usr/share/leaky-config"));
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(ec.generateKeyPair().getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        Files.writeString(dir.resolve("id_ecdsa"), pem);
        Files.writeString(dir.resolve("credentials"), "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\nregion = eu-west-1\n");
        return TestPackages.deb(tmp, tmp.resolve("leaky"), "leaky-config", "1.0");
    }

    private long build(String stack) throws Exception {
        HttpResponse<byte[]> r = post("/api/stacks/" + stack + "/builds", "platform", null);
        assertThat(r.statusCode()).as(body(r)).isEqualTo(202);
        long id = json(r).path("build").asLong();
        waitFor(Duration.ofSeconds(240), "build " + id + " of " + stack, () -> !buildStatus(id).matches("queued|running"));
        return id;
    }

    private String buildStatus(long id) {
        return db.sql("SELECT status FROM build WHERE id = ?").param(id).query(String.class).single();
    }

    private String tag(long build) {
        return db.sql("SELECT tags->>0 FROM build WHERE id = ?").param(build).query(String.class).single();
    }

    private String digest(long build) {
        return db.sql("SELECT image_digest FROM build WHERE id = ?").param(build).query(String.class).single();
    }

    private String firstDigest() {
        return digest(first);
    }

    private void signIn(String user, String password) {
        browser.get(url("/console/login"));
        browser.manage().deleteAllCookies();
        browser.get(url("/console/"));
        assertThat(browser.getCurrentUrl()).endsWith("/console/login");
        browser.findElement(By.id("username")).sendKeys(user);
        browser.findElement(By.id("password")).sendKeys(password);
        if (shot == 0) {
            screenshot("login");
        }
        WebElement button = browser.findElement(By.id("sign-in"));
        button.click();
        // the form posts and the browser follows the redirect: wait for the next page, whichever it is
        new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(30))
                .until(org.openqa.selenium.support.ui.ExpectedConditions.stalenessOf(button));
    }

    /** Clicks what leads to another page and waits for that page: reading before it comes reads the old one. */
    private void clickAndWait(WebElement element) {
        element.click();
        new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(30))
                .until(org.openqa.selenium.support.ui.ExpectedConditions.stalenessOf(element));
    }

    private void signOut() {
        browser.get(url("/console/"));
        browser.findElement(By.cssSelector("form.signout button")).click();
        waitFor(Duration.ofSeconds(10), "the sign-in page", () -> browser.getCurrentUrl().contains("/console/login?signedOut"));
    }

    /** The whole page: the window grows to the document's height for the shot. */
    private void screenshot(String name) {
        try {
            long height = ((Number) ((JavascriptExecutor) browser).executeScript("return document.documentElement.scrollHeight")).longValue();
            browser.manage().window().setSize(new Dimension(1366, (int) Math.min(Math.max(height + 100, 900), 6000)));
            Files.write(SHOTS.resolve(String.format("%02d-%s.png", ++shot, name)), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
            browser.manage().window().setSize(new Dimension(1366, 900));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Downloads through the browser's own session (cookies, same origin), as a click on the link would. */
    private byte[] fetchInBrowser(String href) {
        Object base64 = ((JavascriptExecutor) browser).executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0]).then(r => r.status === 200 ? r.arrayBuffer() : Promise.reject('HTTP ' + r.status))
                  .then(b => { let s = ''; const a = new Uint8Array(b); for (let i = 0; i < a.length; i += 32768) {
                    s += String.fromCharCode.apply(null, a.subarray(i, i + 32768)); } done(btoa(s)); })
                  .catch(e => done('error: ' + e));""", href);
        assertThat(base64.toString()).doesNotStartWith("error");
        return Base64.getDecoder().decode(base64.toString());
    }


    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    private HttpResponse<byte[]> get(String path, String user) throws Exception {
        return send("GET", path, user, null);
    }

    private HttpResponse<byte[]> post(String path, String user, String json) throws Exception {
        return send("POST", path, user, json);
    }

    private HttpResponse<byte[]> send(String method, String path, String user, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(60))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        if (user != null) {
            b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString((user + ":" + user + "-pw").getBytes(StandardCharsets.UTF_8)));
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private int status(String method, String path, String user) {
        try {
            return send(method, path, user, null).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static JsonNode json(HttpResponse<byte[]> r) {
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isBetween(200, 299);
        return JSON.readTree(r.body());
    }

    private static String body(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    private static void assertProblem(HttpResponse<byte[]> r, int status, String type, String detail) {
        assertThat(r.statusCode()).as(body(r)).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        JsonNode problem = JSON.readTree(r.body());
        assertThat(problem.path("type").asString()).isEqualTo("urn:kiln:problem:" + type);
        assertThat(problem.path("detail").asString()).isEqualTo(detail);
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void waitFor(Duration limit, String what, BooleanSupplier condition) {
        Instant end = Instant.now().plus(limit);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(end)) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
