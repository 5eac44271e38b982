package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.database.Database;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.history.History;
import dev.kiln.testing.KilnCli;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestPackages;
import dev.kiln.testing.TestRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import com.github.dockerjava.api.DockerClient;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * What users of Kiln's images found in them, checked in one image that docker runs read-only: real
 * Debian packages (base-files, ca-certificates, tzdata, libc6 and the libc-bin Kiln adds for the
 * C.UTF-8 locale, libstdc++6, zlib1g), a probe compiled here against this machine's glibc, and a JRE
 * that jlink makes here from this machine's JDK (java.base only: 44 MB instead of a 44 MB download plus
 * 190 MB installed for Debian's openjdk-17-jre-headless, which takes about 35 s to compose on its own).
 * One build serves every assertion about contents; syft reads the same image as a scanner would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageContentsIT {

    private static final Path DEBS = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"), "debs");
    private static final Pattern REFERENCE = Pattern.compile("^\\S+\\s+(\\S+:(\\S+))", Pattern.MULTILINE);
    private static final Pattern BUILD = Pattern.compile("build (\\d+), digest");
    private static final String JRE = "/usr/lib/jvm/probe-jre";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** The contents stack's excludes and hardening, which a second stack shares to get the same libc6 layer. */
    private static final String SETTINGS = """
            excludes: [openssl, debconf, debconf-2.0, awk, mawk]
            hardening:
              removeShells: true
              removePackageManagers: true
              dropPaths: [/usr/share/doc, /usr/share/man, /usr/share/locale]
            """;

    private Path tmp;
    private TestArchive repo;
    private Path catalog;
    private TestRegistry registry;
    private Database database;
    private History history;
    private String image;
    private long build;
    private String buildOutput;
    private KilnCli cli;

    @BeforeAll
    void buildTheImage(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(DEBS.resolve("complete")).as("real Debian packages: run .ci/debs first").exists();
        repo = new TestArchive(tmp.resolve("repo"));
        try (var debs = Files.list(DEBS)) {
            debs.filter(p -> p.toString().endsWith(".deb")).forEach(p -> repo.add("stable", p));
        }
        repo.add("stable", probePackage());
        repo.add("stable", jrePackage());
        Path marker = Files.createDirectories(tmp.resolve("marker/usr/share/marker"));
        Files.writeString(marker.resolve("VERSION"), "1\n");
        repo.deb("stable", "marker", "1.0", tmp.resolve("marker"));
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        catalog = Files.createDirectories(tmp.resolve("catalog"));
        cli = new KilnCli(catalog, tmp.resolve("data"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        Files.writeString(catalog.resolve("contents.yaml"), repo.stackHead("image contents") + """
                packages: [base-files, ca-certificates, tzdata, netbase, probe, probe-jre]
                """ + SETTINGS + """
                entrypoint: [/usr/bin/probe]
                target:
                  repository: golden/contents
                """);
        Files.writeString(catalog.resolve("fresh.yaml"), repo.stackHead("lock currency") + "packages: [marker]\n");
        assertThat(kiln("lock", "--all")).as(err()).isZero();

        registry = new TestRegistry(tmp);
        // the test holds the embedded server of the data directory open; every kiln command joins it
        database = Database.open(new Database.Settings(null, null, null), tmp.resolve("data"), 2).migrate();
        history = new History(database.dataSource());
        assertThat(kiln("build", "contents", "--target", registry.address() + "/t")).as(err()).isZero();
        buildOutput = out();
        Matcher m = REFERENCE.matcher(buildOutput);
        assertThat(m.find()).as(buildOutput).isTrue();
        image = registry.address() + "/t/golden/contents:" + m.group(2);
        Matcher b = BUILD.matcher(buildOutput);
        assertThat(b.find()).as(buildOutput).isTrue();
        build = Long.parseLong(b.group(1));
    }

    @AfterAll
    void tearDown() {
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

    @Test
    void theLockAddsLibcBinForTheLocaleAndSaysWhy() {
        Lock lock = LockFile.read(catalog.resolve("contents.lock.json")).orElseThrow();
        Lock.Package libcBin = lock.packages().stream().filter(p -> p.name().equals("libc-bin")).findFirst().orElseThrow();
        assertThat(libcBin.wantedBy()).isEqualTo("libc6");
        assertThat(libcBin.reason()).isEqualTo("the C.UTF-8 locale for LANG=C.UTF-8 (nothing depends on libc-bin)");
        assertThat(libcBin.only()).containsExactly("/usr/lib/locale/C.utf8");
        assertThat(lock.packages()).filteredOn(p -> !p.name().equals("libc-bin")).allMatch(p -> p.reason() == null && p.only() == null);
        // the marker stack has no libc, so no locale either
        assertThat(LockFile.read(catalog.resolve("fresh.lock.json")).orElseThrow().packages()).extracting(Lock.Package::name)
                .containsExactly("marker");
    }

    @Test
    void cUtf8IsTheDefaultLocaleAndSetlocaleAcceptsIt() {
        String probe = run(List.of(), Map.of());
        assertThat(probe).contains("locale from env: C.UTF-8, codeset UTF-8")
                .contains("setlocale(LC_ALL, \"C.UTF-8\"): C.UTF-8, codeset UTF-8");
        // without LANG glibc stays in the ASCII "C" locale, as it would without Kiln's default
        assertThat(run(List.of(), Map.of("LANG", ""))).contains("locale from env: C, codeset ANSI_X3.4-1968")
                .contains("setlocale(LC_ALL, \"C.UTF-8\"): C.UTF-8, codeset UTF-8");
        assertThat(TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--config", "docker://" + image)))
                .contains("\"LANG=C.UTF-8\"");
    }

    @Test
    void javaNamesFilesInUtf8AndKnowsItsTimeZone() {
        String java = run(List.of(JRE + "/bin/java", "-cp", "/usr/share/probe", "Probe", "/tmp"), Map.of());
        assertThat(java).contains("sun.jnu.encoding=UTF-8").contains("listed héllo-日本.txt").contains("time zone=Etc/UTC")
                .doesNotContain("exit ");
        // the control: the ASCII locale cannot encode the name
        assertThat(run(List.of(JRE + "/bin/java", "-cp", "/usr/share/probe", "Probe", "/tmp"), Map.of("LANG", "")))
                .contains("sun.jnu.encoding=ANSI_X3.4-1968").contains("InvalidPathException").contains("exit 1");
    }

    @Test
    void localtimeIsUtcAndNothingPointsAtWhatKilnLeftOut() {
        String probe = run(List.of("/usr/bin/probe", "/etc/localtime", "/usr/share/zoneinfo/localtime", "/usr/sbin/update-ca-certificates",
                "/etc/update-motd.d/10-uname", "/usr/share/probe/manual", "/usr/share/probe/notes", "/usr/bin/ldd", "/sbin/ldconfig",
                "/usr/lib/locale/C.utf8/LC_CTYPE", "/bin/sh"), Map.of());
        assertThat(probe).contains("time zone: UTC")
                .contains("/etc/localtime: link to /usr/share/zoneinfo/Etc/UTC, resolves")
                .contains("/usr/share/zoneinfo/localtime: link to /etc/localtime, resolves")
                .contains("/usr/sbin/update-ca-certificates: absent")
                .contains("/etc/update-motd.d/10-uname: absent")
                .contains("/usr/share/probe/manual: absent")
                .contains("/usr/share/probe/notes: link to ../doc/probe/copyright, resolves")
                .contains("/usr/bin/ldd: absent").contains("/sbin/ldconfig: absent")
                .contains("/usr/lib/locale/C.utf8/LC_CTYPE: file")
                .contains("/bin/sh: absent");
        JsonNode removed = report().path("removed");
        assertThat(removed.valueStream().map(JsonNode::asString).toList()).contains(
                "/usr/sbin/update-ca-certificates (script for /bin/sh, which the image does not have; from ca-certificates)",
                "/etc/update-motd.d/10-uname (script for /bin/sh, which the image does not have; from base-files)",
                "/usr/share/probe/manual (link to /usr/share/doc/probe/manual.html, which hardening.dropPaths leaves out (/usr/share/doc); from probe)");
        assertThat(report().path("trimmed").valueStream().map(JsonNode::asString).toList())
                .contains("/usr/bin/ldd (from libc-bin, of which the image keeps only /usr/lib/locale/C.utf8)");
        assertThat(buildOutput).containsPattern("hardening: \\d+ setuid/setgid stripped, \\d+ removed, \\d+ tightened, \\d+ files dropped, \\d+ left out of partly kept packages");
    }

    @Test
    void everyPackageShipsItsLicenceAndSyftReportsOne() throws Exception {
        Lock lock = LockFile.read(catalog.resolve("contents.lock.json")).orElseThrow();
        List<String> copyrights = new ArrayList<>(List.of("/usr/bin/probe"));
        lock.packages().forEach(p -> copyrights.add("/usr/share/doc/" + p.name() + "/copyright"));
        String probe = run(copyrights, Map.of());
        for (Lock.Package p : lock.packages()) {
            assertThat(probe).containsPattern("/usr/share/doc/" + Pattern.quote(p.name()) + "/copyright: (file|link to .*, resolves)");
        }
        Path sbomFile = tmp.resolve("sbom.json");
        ProcessBuilder syft = new ProcessBuilder(syft(), "scan", "registry:" + image, "-o", "syft-json=" + sbomFile, "-q")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("syft.log").toFile());
        syft.environment().put("SYFT_REGISTRY_INSECURE_USE_HTTP", "true");
        syft.environment().put("SYFT_CHECK_FOR_APP_UPDATE", "false");
        Process scan = syft.start();
        assertThat(scan.waitFor()).as(Files.readString(tmp.resolve("syft.log"))).isZero();
        JsonNode sbom = JSON.readTree(sbomFile.toFile());
        List<String> withoutLicence = new ArrayList<>();
        List<String> found = new ArrayList<>();
        for (JsonNode artifact : sbom.path("artifacts")) {
            if (!artifact.path("type").asString().equals("deb")) {
                continue;
            }
            found.add(artifact.path("name").asString() + "=" + artifact.path("version").asString());
            if (artifact.path("licenses").isEmpty()) {
                withoutLicence.add(artifact.path("name").asString());
            }
        }
        assertThat(found).containsExactlyInAnyOrderElementsOf(lock.packages().stream().map(p -> p.name() + "=" + p.version()).toList());
        assertThat(withoutLicence).as("packages syft reports no licence for").isEmpty();
    }

    @Test
    void noAccountIsThereTwiceAndAUserThatWouldCollideIsRefused() throws IOException {
        assertThat(run(List.of("/usr/bin/probe"), Map.of())).contains("passwd: 3 entries, 0 duplicates").contains("group: 3 entries, 0 duplicates");
        Path nobody = catalog.resolve("nobody.yaml");
        Files.writeString(nobody, repo.stackHead("collides") + "packages: [marker]\nuser: {name: app, uid: 65534}\n");
        try {
            assertThat(kiln("validate", "nobody", "--offline")).isEqualTo(1);
            assertThat(err()).contains(nobody + ": user.uid: 65534 is already the uid of 'nobody' in every image "
                    + "(/etc/passwd: nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin); choose another");
            assertThat(kiln("build", "nobody")).isEqualTo(1);
            assertThat(err()).contains("nobody: invalid, not built");
        } finally {
            Files.delete(nobody);
        }
    }

    @Test
    void aBuildFromALockThatIsNoLongerCurrentSaysSoAsValidateAndLockCheckDo() throws Exception {
        Path file = catalog.resolve("fresh.lock.json");
        Lock locked = LockFile.read(file).orElseThrow();
        // a lock made a while ago: its Release has passed Valid-Until since
        Lock old = new Lock(locked.lockVersion(), locked.stack(), locked.stackDigest(), locked.architecture(),
                locked.releases().stream().map(r -> new Lock.Release(r.url(), r.suite(), r.codename(), r.version(), r.date(),
                        "2026-01-02T00:00:00Z", r.origin(), r.inReleaseSha256())).toList(), locked.packages(), locked.dropped());
        LockFile.write(file, old);
        assertThat(kiln("build", "fresh")).as(err()).isZero();
        assertThat(err()).contains("fresh: warning: lock: the lock's Release stable of " + repo.url()
                + " passed its Valid-Until (2026-01-02T00:00:00Z): it no longer proves its packages are the archive's current ones");
        assertThat(err()).doesNotContain("out of date");
        assertThat(lockCheck(out()).path("current").asBoolean()).isTrue();
        assertThat(lockCheck(out()).path("notes").valueStream().map(JsonNode::asString).toList()).as("in the build's record too")
                .containsExactly("the lock's Release stable of " + repo.url() + " passed its Valid-Until (2026-01-02T00:00:00Z): it no"
                        + " longer proves its packages are the archive's current ones");
        assertThat(kiln("lock", "fresh", "--check")).isZero();
        assertThat(kiln("validate", "fresh")).isZero();
        assertThat(err()).contains("note: " + file + ": the lock's Release stable");

        // the archive moves on: all three now say the lock is out of date, in the same words
        Files.writeString(tmp.resolve("marker/usr/share/marker/VERSION"), "2\n");
        repo.deb("stable", "marker", "2.0", tmp.resolve("marker"));
        repo.publish("stable", Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(7)));
        String outOfDate = file + ": packages: out of date: locking now would change 1 package (~ marker 1.0 -> 2.0); run 'kiln lock fresh'";
        assertThat(kiln("lock", "fresh", "--check")).isEqualTo(1);
        assertThat(err()).contains(outOfDate);
        assertThat(kiln("validate", "fresh")).isEqualTo(1);
        assertThat(err()).contains(outOfDate);
        assertThat(kiln("build", "fresh")).as(err()).isZero();
        assertThat(out()).contains("up to date");
        assertThat(err()).contains("fresh: warning: lock: out of date: locking now would change 1 package (~ marker 1.0 -> 2.0); run 'kiln lock fresh'");
        JsonNode check = lockCheck(out());
        assertThat(check.path("current").asBoolean()).isFalse();
        assertThat(check.path("problems").get(0).asString()).isEqualTo("out of date: locking now would change 1 package (~ marker 1.0 -> 2.0); run 'kiln lock fresh'");

        assertThat(kiln("lock", "fresh")).isZero();
        assertThat(kiln("lock", "fresh", "--check")).isZero();
        assertThat(kiln("validate", "fresh")).isZero();
        assertThat(kiln("build", "fresh")).as(err()).isZero();
        assertThat(err()).doesNotContain("warning");
        assertThat(lockCheck(out()).path("current").asBoolean()).isTrue();
    }

    @Test
    void theCatalogsOriginBecomesTheSourceWithoutItsCredentialsAndALocalPathNever() throws Exception {
        Files.writeString(catalog.resolve("origin.yaml"), repo.stackHead("source label") + """
                packages: [marker]
                target:
                  repository: golden/origin
                """);
        try {
            git("init", "-q");
            git("remote", "add", "origin", "https://ci-bot:ghp_s3cret@git.example.com/platform/catalog.git?ref=main");
            git("add", "-A");
            git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "catalog");
            assertThat(kiln("lock", "origin")).as(err()).isZero();
            assertThat(kiln("build", "origin", "--target", registry.address() + "/t")).as(err()).isZero();
            String first = registry.address() + "/t/golden/origin:" + tag(out());
            String config = TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--config", "--raw", "docker://" + first));
            String manifest = TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + first));
            assertThat(JSON.readTree(config).path("config").path("Labels").path("org.opencontainers.image.source").asString())
                    .isEqualTo("https://git.example.com/platform/catalog.git");
            assertThat(config + manifest).doesNotContain("s3cret").doesNotContain("ci-bot").doesNotContain("ref=main")
                    .doesNotContain(tmp.toString());

            // a local path is no source: the label goes, and since the config changed, so does the image
            git("remote", "set-url", "origin", tmp.resolve("upstream/catalog.git").toString());
            assertThat(kiln("build", "origin", "--target", registry.address() + "/t")).as(err()).isZero();
            assertThat(out()).doesNotContain("up to date");
            String second = registry.address() + "/t/golden/origin:" + tag(out());
            assertThat(second).isNotEqualTo(first);
            config = TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--config", "--raw", "docker://" + second));
            manifest = TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + second));
            assertThat(JSON.readTree(config).path("config").path("Labels").has("org.opencontainers.image.source")).as(config).isFalse();
            assertThat(config + manifest).doesNotContain(tmp.toString());
        } finally {
            Files.deleteIfExists(catalog.resolve("origin.yaml"));
            Files.deleteIfExists(catalog.resolve("origin.lock.json"));
            if (Files.exists(catalog.resolve(".git"))) {
                try (var files = Files.walk(catalog.resolve(".git"))) {
                    for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(f);
                    }
                }
            }
        }
    }

    @Test
    void theRealLibc6IsTheSameLayerInAnotherStackWithTheSameSettingsAndIsMountedNotUploaded() throws Exception {
        // the contents stack's settings with other packages: libc6's layer hangs on libc6 and those settings alone
        Files.writeString(catalog.resolve("glibc.yaml"), repo.stackHead("the same libc6") + """
                packages: [libc6, media-types]
                """ + SETTINGS + """
                target:
                  repository: golden/glibc
                """);
        try {
            assertThat(kiln("lock", "glibc")).as(err()).isZero();
            int before = registry.requests().size();
            assertThat(kiln("build", "glibc", "--target", registry.address() + "/t")).as(err()).isZero();
            List<String> requests = registry.requests().subList(before, registry.requests().size());
            Matcher b = BUILD.matcher(out());
            assertThat(b.find()).as(out()).isTrue();
            Map<String, String> glibc = layers(Long.parseLong(b.group(1)));
            Map<String, String> contents = layers(build);
            assertThat(glibc.get("libc6")).startsWith("sha256:").isEqualTo(contents.get("libc6"));
            assertThat(glibc).containsKey("media-types").doesNotContainKey("probe");
            assertThat(contents).doesNotContainKey("media-types");

            // pushed to another repository of the registry: what the contents image has is mounted, the rest uploaded
            long shared = glibc.values().stream().filter(contents::containsValue).count();
            assertThat(out()).contains("(" + (glibc.size() - shared + 1) + " blobs uploaded, " + shared + " mounted)");
            assertThat(requests).filteredOn(r -> r.startsWith("POST /v2/t/golden/glibc/blobs/uploads/?mount")).hasSize((int) shared)
                    .allMatch(r -> r.endsWith(" 201"));
            assertThat(requests).as("the layers the contents image lacks, and the config")
                    .filteredOn(r -> r.startsWith("PATCH /v2/t/golden/glibc/blobs/uploads/")).hasSize((int) (glibc.size() - shared + 1));
        } finally {
            Files.deleteIfExists(catalog.resolve("glibc.yaml"));
            Files.deleteIfExists(catalog.resolve("glibc.lock.json"));
        }
    }

    /** A recorded build's layers: name (its package) to digest. */
    private Map<String, String> layers(long id) {
        Map<String, String> layers = new java.util.HashMap<>();
        history.build(id).orElseThrow().layers().forEach(l -> layers.put(l.path("name").asString(), l.path("digest").asString()));
        return layers;
    }

    private void git(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        TestArchive.run(command, catalog);
    }

    /** The tag of the image the output names. */
    private static String tag(String output) {
        Matcher m = REFERENCE.matcher(output);
        assertThat(m.find()).as(output).isTrue();
        return m.group(2);
    }

    /** The lock check in the record of the build the output names. */
    private JsonNode lockCheck(String output) {
        Matcher b = BUILD.matcher(output);
        assertThat(b.find()).as(output).isTrue();
        return history.build(Long.parseLong(b.group(1))).orElseThrow().report().path("lock");
    }

    private JsonNode report() {
        return history.build(build).orElseThrow().report();
    }

    /** A probe binary against this machine's glibc, a link into the dropped docs, and a licence. */
    private Path probePackage() throws IOException {
        Path tree = tmp.resolve("probe");
        Files.createDirectories(tree.resolve("usr/bin"));
        Path source = tmp.resolve("probe.c");
        Files.write(source, resource("probe.c"));
        TestArchive.run(List.of("gcc", "-O2", "-o", tree.resolve("usr/bin/probe").toString(), source.toString()));
        Files.setPosixFilePermissions(tree.resolve("usr/bin/probe"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path classes = Files.createDirectories(tree.resolve("usr/share/probe"));
        Path java = tmp.resolve("Probe.java");
        Files.write(java, resource("Probe.java"));
        TestArchive.run(List.of(Path.of(System.getProperty("java.home"), "bin", "javac").toString(), "--release", "17", "-d", classes.toString(),
                java.toString()));
        Path doc = Files.createDirectories(tree.resolve("usr/share/doc/probe"));
        Files.writeString(doc.resolve("copyright"), copyright("probe", "MIT"));
        Files.writeString(doc.resolve("manual.html"), "<html>manual</html>\n");
        Files.createSymbolicLink(classes.resolve("manual"), Path.of("../doc/probe/manual.html"));
        Files.createSymbolicLink(classes.resolve("notes"), Path.of("../doc/probe/copyright"));
        return debOf(tree, "probe", "1.0", "Depends: libc6");
    }

    /** java.base linked by jlink from the JDK running this test: Debian's own OpenJDK build on CI. */
    private Path jrePackage() {
        return TestPackages.jre(tmp, "probe-jre", "17.0", JRE);
    }

    private Path debOf(Path tree, String name, String version, String... controlLines) {
        return TestPackages.deb(tmp, tree, name, version, controlLines);
    }

    private static String copyright(String upstream, String licence) {
        return TestPackages.copyright(upstream, licence);
    }

    private static byte[] resource(String name) throws IOException {
        try (var in = ImageContentsIT.class.getResourceAsStream("/image-contents/" + name)) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    /** syft from PATH, or where .ci/syft builds it. */
    private static String syft() {
        Path cached = Path.of(System.getenv().getOrDefault("KILN_TOOLS", System.getProperty("user.home") + "/.cache/kiln/bin"), "syft");
        if (Files.isExecutable(cached)) {
            return cached.toString();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "syft"))) {
                return Path.of(dir, "syft").toString();
            }
        }
        throw new AssertionError("syft not found: run .ci/syft first");
    }

    /**
     * Runs the image read-only as its user, with a writable /tmp as a read-only deployment gives it;
     * the output, and "exit N" when the program failed.
     */
    private String run(List<String> command, Map<String, String> env) {
        try (GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))) {
            if (!command.isEmpty()) {
                container.withCreateContainerCmdModifier(cmd -> cmd.withEntrypoint(command.get(0)));
                container.withCommand(command.subList(1, command.size()).toArray(String[]::new));
            }
            env.forEach(container::withEnv);
            container.withTmpFs(Map.of("/tmp", "rw"))
                    .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withReadonlyRootfs(true))
                    .withStartupCheckStrategy(new Exited());
            container.start();
            Long exit = container.getDockerClient().inspectContainerCmd(container.getContainerId()).exec().getState().getExitCodeLong();
            return container.getLogs() + (exit != null && exit != 0 ? "\nexit " + exit : "");
        }
    }

    /** Started once the program has ended, whatever its exit code (the controls are meant to fail). */
    private static final class Exited extends StartupCheckStrategy {
        Exited() {
            withTimeout(Duration.ofSeconds(60));
        }

        @Override
        public StartupStatus checkStartupState(DockerClient docker, String containerId) {
            Boolean running = getCurrentState(docker, containerId).getRunning();
            return running != null && !running ? StartupStatus.SUCCESSFUL : StartupStatus.NOT_YET_KNOWN;
        }
    }

    private int kiln(String... args) {
        return cli.run(args);
    }

    private String out() {
        return cli.out();
    }

    private String err() {
        return cli.err();
    }
}
