package dev.kiln;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.cli.KilnCommandLine;
import dev.kiln.testing.Resources;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The deployment in docker-compose.yml, run as a user would run it: Kiln builds its own images from the
 * catalog's java, postgresql and registry stacks (real trixie packages from .ci/fixtures, on a mirror
 * whose indexes are the snapshot's, re-signed by a test key) into a registry (Debian's docker-registry),
 * Jib puts the service on the java image (the pom's {@code image} profile), Debian's docker-compose pulls
 * and brings the project up, and a build triggered through the API lands in the project's registry. The only addition to the compose file is
 * the archive: a container of the same java image serving that mirror, since the service must not
 * reach the live archive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ComposeIT {

    private static final Path FIXTURES = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"));
    private static final Pattern BUILT = Pattern.compile("^(\\S+)\\s+(localhost:\\S+)$", Pattern.MULTILINE);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String PASSWORD = "compose-" + UUID.randomUUID();

    private Path tmp;
    private TestArchive mirror;
    private TestRegistry registry;
    private final String project = "kiln-it-" + UUID.randomUUID().toString().substring(0, 8);
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<String> images = new ArrayList<>();
    private boolean up;
    private Instant phase = Instant.now();

    /** Prints how long the step just done took: the test's time goes to CI's budget, so it is reported. */
    private void took(String what) {
        Instant now = Instant.now();
        System.out.printf("ComposeIT: %s took %.1f s%n", what, Duration.between(phase, now).toMillis() / 1000.0);
        phase = now;
    }

    @BeforeAll
    void buildTheImages(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(FIXTURES.resolve("debian-trixie/complete")).as("the trixie snapshot: run .ci/fixtures first").exists();
        assertThat(FIXTURES.resolve("trixie-debs")).as("the deployment's packages: run .ci/fixtures first").isDirectory();
        assertThat(run(List.of("docker-compose", "version"), Map.of())).as("Debian's docker-compose (.ci/run installs it)")
                .contains("docker-compose version");

        // a mirror of trixie: the snapshot's indexes, signed anew with fresh dates, and the packages
        mirror = new TestArchive(tmp.resolve("mirror"));
        Instant now = Instant.now();
        for (String[] suite : List.of(new String[] {"debian", "trixie"}, new String[] {"debian", "trixie-updates"},
                new String[] {"debian-security", "trixie-security"})) {
            mirror.republish(suite[0], suite[1], FIXTURES.resolve("debian-trixie").resolve(suite[0]).resolve("dists").resolve(suite[1])
                    .resolve("main/binary-amd64/Packages.xz"), now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(7)));
        }
        link(FIXTURES.resolve("trixie-debs"), tmp.resolve("mirror"));
        Path catalog = Files.createDirectories(tmp.resolve("catalog"));
        Path service = Files.createDirectories(tmp.resolve("service-catalog"));
        for (Path c : List.of(catalog, service)) {
            mirror.keyring(Files.createDirectories(c.resolve("keys")).resolve("debian-trixie.gpg"), mirror.defaultKey());
            Files.setPosixFilePermissions(c.resolve("keys/debian-trixie.gpg"), PosixFilePermissions.fromString("rw-r--r--"));
        }
        for (String stack : List.of("java", "postgresql", "registry")) {
            Files.copy(Path.of("catalog", stack + ".yaml"), catalog.resolve(stack + ".yaml"));
        }
        Files.copy(Path.of("catalog/static.yaml"), service.resolve("static.yaml"));

        // Kiln's own images, as docs/service.md says, published to a registry the engine pulls from
        registry = new TestRegistry(tmp);
        List<String> options = List.of("--catalog", catalog.toString(), "--data-dir", tmp.resolve("data").toString(),
                "--mirror", "http://deb.debian.org/debian=" + mirror.url("debian"),
                "--mirror", "http://deb.debian.org/debian-security=" + mirror.url("debian-security"));
        took("setting up the mirror");
        kiln("lock", List.of("java", "postgresql", "registry"), options);
        took("kiln lock");
        List<String> build = new ArrayList<>(options);
        build.addAll(List.of("--target", registry.address()));
        String built = kiln("build", List.of("java", "postgresql", "registry"), build);
        took("kiln build java postgresql registry");
        Map<String, String> refs = new LinkedHashMap<>();
        Matcher m = BUILT.matcher(built);
        while (m.find()) {
            refs.put(m.group(1), m.group(2));
        }
        assertThat(refs).as(built).containsOnlyKeys("java", "postgresql", "registry");
        // the service image: Jib on the java image, from the classes this build compiled
        String serviceImage = registry.address() + "/kiln/service:test";
        run(List.of("./mvnw", "-q", "-B", "-ntp", "-Pimage", "jib:build", "-Djib.allowInsecureRegistries=true",
                "-Dkiln.image.base=" + refs.get("java"), "-Dkiln.image.name=" + serviceImage), Map.of());
        took("jib:build");
        images.addAll(refs.values());
        images.add(serviceImage);

        env.putAll(Map.of("COMPOSE_PROJECT_NAME", project, "KILN_IMAGE", serviceImage,
                "KILN_POSTGRESQL_IMAGE", refs.get("postgresql"), "KILN_REGISTRY_IMAGE", refs.get("registry"),
                "KILN_JAVA_IMAGE", refs.get("java"), "KILN_DB_PASSWORD", "db-" + UUID.randomUUID(),
                "KILN_PLATFORM_PASSWORD", "{noop}" + PASSWORD, "KILN_CATALOG", service.toString(),
                "KILN_TEST_MIRROR", tmp.resolve("mirror").toString()));
        // the roles the service runs as (it refuses to start as a superuser); a quote tests the init script's quoting
        env.put("KILN_DB_OWNER_PASSWORD", "owner-'" + UUID.randomUUID());
        env.put("KILN_DB_APP_PASSWORD", "app-" + UUID.randomUUID());
        // ports the engine picks, on loopback
        env.put("KILN_API_PORT", "127.0.0.1:");
        env.put("KILN_REGISTRY_PORT", "127.0.0.1:");
    }

    @AfterAll
    void tearDown() {
        try {
            if (up) {
                compose("down", "-v", "--remove-orphans", "--timeout", "5");
            }
        } finally {
            images.forEach(i -> runQuietly(List.of("docker", "rmi", "-f", i)));
            Resources.close(mirror, registry);
        }
    }

    @Test
    void theComposeProjectComesUpHealthyAndABuildTriggeredThroughTheApiLandsInItsRegistry() throws Exception {
        up = true;
        phase = Instant.now();
        compose("pull", "--quiet");
        took("docker-compose pull");
        compose("up", "-d");
        took("docker-compose up");
        String api = "http://" + compose("port", "kiln", "8080").strip();
        String registry = "http://" + compose("port", "registry", "5000").strip();

        String kiln = compose("ps", "-q", "kiln").strip();
        waitFor(Duration.ofMinutes(3), "the kiln container healthy", () -> {
            String health = runQuietly(List.of("docker", "inspect", "-f", "{{.State.Health.Status}}", kiln)).strip();
            if (health.equals("unhealthy") || runQuietly(List.of("docker", "inspect", "-f", "{{.State.Status}}", kiln)).strip().equals("exited")) {
                throw new AssertionError("kiln is " + health + ": " + runQuietly(List.of("docker", "logs", "--tail", "60", kiln)));
            }
            return health.equals("healthy");
        });
        took("kiln healthy");
        // every service as the images were made: uid 65532, read-only root filesystem
        for (String service : List.of("postgres", "registry", "kiln")) {
            String id = compose("ps", "-q", service).strip();
            assertThat(runQuietly(List.of("docker", "inspect", "-f", "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", id)).strip())
                    .as(service).isEqualTo("65532:65532 true");
        }

        HttpResponse<String> accepted = HTTP.send(request(api + "/api/stacks/static/builds").POST(HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        long id = JSON.readTree(accepted.body()).path("build").asLong();
        JsonNode[] build = new JsonNode[1];
        waitFor(Duration.ofMinutes(3), "build " + id + " finished", () -> {
            build[0] = JSON.readTree(send(request(api + "/api/builds/" + id).GET().build()).body());
            return !List.of("queued", "running").contains(build[0].path("status").asString());
        });
        took("the build through the API");
        assertThat(build[0].path("status").asString()).as(build[0].toString()).isEqualTo("succeeded");
        String tag = build[0].path("tags").get(0).asString();
        String digest = build[0].path("imageDigest").asString();
        assertThat(build[0].path("reference").asString()).isEqualTo("registry:5000/golden/static:" + tag);

        JsonNode tags = JSON.readTree(send(HttpRequest.newBuilder(URI.create(registry + "/v2/golden/static/tags/list")).build()).body());
        assertThat(tags.path("tags").toString()).contains("\"" + tag + "\"");
        HttpResponse<String> manifest = send(HttpRequest.newBuilder(URI.create(registry + "/v2/golden/static/manifests/" + tag))
                .header("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(manifest.headers().firstValue("Docker-Content-Digest")).hasValue(digest);
    }

    private HttpRequest.Builder request(String url) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).header("Authorization",
                "Basic " + Base64.getEncoder().encodeToString(("platform:" + PASSWORD).getBytes(StandardCharsets.UTF_8)));
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String kiln(String command, List<String> stacks, List<String> options) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(stacks);
        args.addAll(options);
        int code = KilnCommandLine.run(KilnApplication.class, args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as("kiln " + command + ":\n" + printed + err.toString(StandardCharsets.UTF_8)).isZero();
        return printed;
    }

    private String compose(String... args) {
        List<String> command = new ArrayList<>(List.of("docker-compose", "-f", "docker-compose.yml", "-f",
                Path.of("src/test/resources/compose/archive.yml").toString()));
        command.addAll(List.of(args));
        return run(command, env);
    }

    /** Hard links (copies across file systems) every file under {@code from} into {@code to}, same paths. */
    private static void link(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".deb")).toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                Files.createDirectories(target.getParent());
                try {
                    Files.createLink(target, f);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(f, target);
                }
            }
        }
    }

    private static String run(List<String> command, Map<String, String> env) {
        return TestArchive.run(command, null, env);
    }

    private static String runQuietly(List<String> command) {
        try {
            return run(command, Map.of());
        } catch (IllegalStateException e) {
            return "";
        }
    }

    private static void waitFor(Duration timeout, String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(1000);
        }
    }
}
