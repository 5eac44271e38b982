package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.database.Database;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.History;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Images for amd64 and arm64 made of real Debian packages of both architectures (.ci/debs fetches them),
 * published as one image index to Debian's docker-registry and run by docker: the arm64 platform under
 * QEMU user emulation (qemu-user-static through binfmt_misc, which .ci/run registers), on this amd64
 * machine. A python3-like stack (python3.11-minimal) and a java-like one (Debian's openjdk-17-jre-headless,
 * its real data member re-wrapped with a control file that depends on the four libraries the headless
 * JVM links against: the package's own Depends bring in 72 packages, 70 MB per architecture, for
 * printing, fonts and sound).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiArchitectureImagesIT {

    private static final Path FIXTURES = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"));
    private static final Pattern REFERENCE = Pattern.compile("^\\S+\\s+(\\S+:(\\S+))", Pattern.MULTILINE);
    private static final Pattern BUILD = Pattern.compile("build (\\d+), index (sha256:[0-9a-f]{64})");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String HEAD_EXTRA = """
            excludes: [openssl, debconf, debconf-2.0, awk, mawk]
            hardening:
              removeShells: true
              removePackageManagers: true
              dropPaths:
                - /usr/share/doc
                - /usr/share/man
                - /usr/share/locale
            """;

    private Path tmp;
    private TestArchive repo;
    private Path catalog;
    private TestRegistry registry;
    private Database database;
    private History history;
    private KilnCli cli;
    private final List<String> pulled = new ArrayList<>();
    private Built python;
    private Built java;

    /** A published index: its reference, digest and the build that made it. */
    record Built(String image, String digest, long build) {
    }

    @BeforeAll
    void buildBothStacks(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(FIXTURES.resolve("debs/complete")).as("real Debian packages: run .ci/debs first").exists();
        assertThat(FIXTURES.resolve("debs-multiarch/complete")).as("arm64 packages: run .ci/debs first").exists();
        assertThat(Path.of("/proc/sys/fs/binfmt_misc/qemu-aarch64")).as("QEMU registered for arm64: run .ci/run").exists();
        repo = new TestArchive(tmp.resolve("repo"));
        repo.architectures("stable", "amd64", "arm64");
        for (Path deb : debs(FIXTURES.resolve("debs"))) {
            repo.add("stable", deb);
        }
        for (Path deb : debs(FIXTURES.resolve("debs-multiarch"))) {
            repo.add("stable", deb.getFileName().toString().startsWith("openjdk-17-jre-headless_") ? rewrapped(deb) : deb);
        }
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        String head = repo.stackHead("%s").replace("architecture: amd64", "architectures: [amd64, arm64]");
        Files.writeString(catalog.resolve("python.yaml"), head.formatted("python3 for amd64 and arm64") + HEAD_EXTRA + """
                packages: [base-files, ca-certificates, tzdata, netbase, python3.11-minimal]
                entrypoint: [/usr/bin/python3.11]
                target:
                  repository: golden/python
                retention: {keepLast: 1, keepDays: 0, keepPulledDays: 0}
                """);
        // the headless JRE's libraries that link what the re-wrapped package leaves out (sound, fonts, colour
        // profiles, JPEG, smart cards), as catalog/java.yaml drops the first two
        Files.writeString(catalog.resolve("java.yaml"), head.formatted("java for amd64 and arm64") + HEAD_EXTRA + """
                    - /usr/lib/jvm/java-17-openjdk-{architecture}/lib/libjsound.so
                    - /usr/lib/jvm/java-17-openjdk-{architecture}/lib/libfontmanager.so
                    - /usr/lib/jvm/java-17-openjdk-{architecture}/lib/liblcms.so
                    - /usr/lib/jvm/java-17-openjdk-{architecture}/lib/libjavajpeg.so
                    - /usr/lib/jvm/java-17-openjdk-{architecture}/lib/libj2pcsc.so
                packages: [base-files, ca-certificates, tzdata, netbase, openjdk-17-jre-headless]
                env:
                  JAVA_HOME: /usr/lib/jvm/java-17-openjdk-{architecture}
                entrypoint: [/usr/bin/java]
                target:
                  repository: golden/java
                """);
        cli = new KilnCli(catalog, tmp.resolve("data"));
        assertThat(cli.run("lock", "--all")).as(cli.err()).isZero();
        registry = new TestRegistry(tmp);
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        python = build("python");
        java = build("java");
    }

    @AfterAll
    void tearDown() {
        for (String image : pulled) {
            try {
                new ProcessBuilder("docker", "rmi", "-f", image).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
            } catch (IOException | InterruptedException e) {
                // best effort: the next run pulls by digest anyway
            }
        }
        if (database != null) {
            database.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (repo != null) {
            repo.close();
        }
    }

    private Built build(String stack) {
        assertThat(cli.run("build", stack, "--target", registry.address() + "/t")).as(cli.err()).isZero();
        Matcher reference = REFERENCE.matcher(cli.out());
        Matcher build = BUILD.matcher(cli.out());
        assertThat(reference.find() && build.find()).as(cli.out()).isTrue();
        return new Built(registry.address() + "/t/golden/" + stack + ":" + reference.group(2), build.group(2), Long.parseLong(build.group(1)));
    }

    private static List<Path> debs(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".deb")).sorted().toList();
        }
    }

    /**
     * Debian's headless JRE with its data member, maintainer scripts and md5sums as they are, and Depends
     * cut to what its programs and libraries link against (the checks prove that: every DT_NEEDED must
     * resolve). Only the control member is made again; the 44 MB data.tar.xz is copied as it is.
     */
    private Path rewrapped(Path deb) throws IOException {
        Path work = Files.createDirectories(tmp.resolve("jre-" + deb.getFileName()));
        TestArchive.run(List.of("ar", "x", deb.toString()), work);
        Path control = Files.createDirectories(work.resolve("control"));
        TestArchive.run(List.of("tar", "-xJf", "../control.tar.xz"), control);
        Path fields = control.resolve("control");
        Files.writeString(fields, Files.readString(fields).replaceFirst("(?m)^Depends: .*$", "Depends: libc6, libgcc-s1, libstdc++6, zlib1g")
                .replaceFirst("(?m)^Recommends: .*\\n", "").replaceFirst("(?m)^Suggests: .*\\n", ""));
        Files.delete(work.resolve("control.tar.xz"));
        try (var names = Files.list(control)) {
            List<String> tar = new ArrayList<>(List.of("tar", "--owner=0", "--group=0", "-cJf", "../control.tar.xz"));
            names.map(p -> "./" + p.getFileName()).sorted().forEach(tar::add);
            TestArchive.run(tar, control);
        }
        Path out = tmp.resolve(deb.getFileName());
        TestArchive.run(List.of("ar", "rc", out.toString(), "debian-binary", "control.tar.xz", "data.tar.xz"), work);
        TestArchive.run(List.of("rm", "-rf", work.toString()));
        return out;
    }

    /** docker run of the image for one platform, pulled first (the other platform may be local under the same name). */
    private String run(String image, String platform, String... args) throws Exception {
        pulled.add(image);
        TestArchive.run(List.of("docker", "pull", "-q", "--platform", platform, image));
        List<String> command = new ArrayList<>(List.of("docker", "run", "--rm", "--platform", platform, "--read-only", image));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + "\n" + out).isZero();
        return out;
    }

    private static JsonNode skopeo(String... args) {
        List<String> command = new ArrayList<>(List.of("skopeo", "inspect", "--tls-verify=false"));
        command.addAll(List.of(args));
        return JSON.readTree(TestArchive.run(command));
    }

    @Test
    void skopeoShowsOneIndexWithAPlatformManifestPerArchitecture() {
        for (Built built : List.of(python, java)) {
            JsonNode index = skopeo("--raw", "docker://" + built.image());
            assertThat(index.path("mediaType").asString()).isEqualTo("application/vnd.oci.image.index.v1+json");
            assertThat(index.path("manifests").valueStream().map(m -> m.path("platform").path("os").asString() + "/"
                    + m.path("platform").path("architecture").asString()).toList()).containsExactly("linux/amd64", "linux/arm64");
            for (JsonNode m : index.path("manifests")) {
                String arch = m.path("platform").path("architecture").asString();
                JsonNode config = skopeo("--config", "docker://" + built.image().replaceFirst(":[^:/]+$", "") + "@" + m.path("digest").asString());
                assertThat(config.path("architecture").asString()).isEqualTo(arch);
                assertThat(config.path("os").asString()).isEqualTo("linux");
            }
        }
    }

    @Test
    void theArm64PythonRunsUnderQemuAndReportsAarch64AndTheAmd64OneX8664() throws Exception {
        String code = "import platform, ssl, sys; print(platform.machine(), sys.byteorder, ssl.OPENSSL_VERSION_NUMBER > 0)";
        assertThat(run(python.image(), "linux/arm64", "-c", code).strip()).isEqualTo("aarch64 little True");
        assertThat(run(python.image(), "linux/amd64", "-c", code).strip()).isEqualTo("x86_64 little True");
    }

    @Test
    void theArm64JavaRunsUnderQemuAndReportsAarch64AndTheAmd64OneAmd64() throws Exception {
        // Java names x86-64 'amd64' in os.arch; the JVM's own build says which machine it is for
        String arm64 = run(java.image(), "linux/arm64", "-XshowSettings:properties", "-version");
        assertThat(arm64).contains("os.arch = aarch64").contains("java.home = /usr/lib/jvm/java-17-openjdk-arm64")
                .contains("sun.jnu.encoding = UTF-8").contains("OpenJDK 64-Bit Server VM");
        String amd64 = run(java.image(), "linux/amd64", "-XshowSettings:properties", "-version");
        assertThat(amd64).contains("os.arch = amd64").contains("java.home = /usr/lib/jvm/java-17-openjdk-amd64")
                .contains("sun.jnu.encoding = UTF-8");
    }

    @Test
    void theLayersOfTheArchitectureAllPackagesAreSharedBetweenThePlatforms() {
        for (Built built : List.of(python, java)) {
            String stack = built == python ? "python" : "java";
            Lock lock = LockFile.read(catalog.resolve(stack + ".lock.json")).orElseThrow();
            History.Build record = history.build(built.build()).orElseThrow();
            Set<String> shared = new TreeSet<>();
            Set<String> single = new LinkedHashSet<>();
            for (JsonNode layer : record.layers()) {
                List<String> on = layer.path("platforms").valueStream().map(JsonNode::asString).toList();
                (on.equals(List.of("amd64", "arm64")) ? shared : single).add(layer.path("name").asString());
            }
            Set<String> expected = new TreeSet<>(lock.packages().stream().map(Lock.Package::name).toList());
            expected.add("kiln-base");
            if (built == python) {
                // the CA bundle alone; java's derived layer holds the alternatives links into its JVM, one per architecture
                expected.add("kiln-derived");
            }
            assertThat(shared).as(stack + ": the layers both platforms share are the shared packages', Kiln's base and the CA bundle")
                    .isEqualTo(expected);
            assertThat(lock.packages()).as(stack).extracting(Lock.Package::name).contains("ca-certificates", "tzdata", "netbase");
            assertThat(record.platforms()).hasSize(2);
            assertThat(record.platforms().valueStream().map(p -> p.path("platform").asString()).toList())
                    .containsExactly("linux/amd64", "linux/arm64");
            JsonNode index = skopeo("--raw", "docker://" + built.image());
            assertThat(record.platforms().valueStream().map(p -> p.path("digest").asString()).toList())
                    .isEqualTo(index.path("manifests").valueStream().map(m -> m.path("digest").asString()).toList());
            assertThat(record.imageDigest()).isEqualTo(built.digest());
        }
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void anUnchangedStackIsUpToDateAndRetirementTakesTheOldIndexWithItsPlatformImages() throws Exception {
        assertThat(cli.run("build", "python", "--target", registry.address() + "/t")).as(cli.err()).isZero();
        assertThat(cli.out()).contains("up to date").contains(python.digest());
        JsonNode old = skopeo("--raw", "docker://" + python.image());
        String repository = python.image().replaceFirst(":[^:/]+$", "");

        Path file = catalog.resolve("python.yaml");
        Files.writeString(file, Files.readString(file) + "labels: {com.example.rebuilt: \"yes\"}\n");
        assertThat(cli.run("lock", "python")).as(cli.err()).isZero();
        Built next = build("python");
        assertThat(next.digest()).isNotEqualTo(python.digest());
        assertThat(cli.run("retire", "python", "--target", registry.address() + "/t")).as(cli.err()).isZero();
        assertThat(cli.out()).contains("retire").contains("retired 1");
        for (String digest : List.of(python.digest(), old.path("manifests").get(0).path("digest").asString(),
                old.path("manifests").get(1).path("digest").asString())) {
            Process p = new ProcessBuilder("skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + repository + "@" + digest)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(digest + " is gone from the registry: " + out).isNotZero();
        }
        assertThat(run(next.image(), "linux/arm64", "-c", "import platform; print(platform.machine())").strip()).isEqualTo("aarch64");
        python = next;
    }
}
