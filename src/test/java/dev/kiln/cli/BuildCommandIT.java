package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnApplication;
import dev.kiln.testing.TestArchive;
import dev.kiln.testing.TestRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

/**
 * {@code kiln build} end to end: real Debian packages (downloaded by .ci/debs) re-published in a
 * repository signed with a test key, a real registry (Debian's docker-registry) and a real Docker
 * engine running the images read-only as their user.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuildCommandIT {

    private static final Path DEBS = Path.of(System.getenv().getOrDefault("KILN_FIXTURES",
            System.getProperty("user.home") + "/.cache/kiln/fixtures"), "debs");
    private static final Pattern DIGEST = Pattern.compile("digest (sha256:[0-9a-f]{64})");
    private static final Pattern REFERENCE = Pattern.compile("^\\S+\\s+(\\S+:(\\S+))", Pattern.MULTILINE);

    private Path tmp;

    private TestArchive repo;
    private Path catalog;
    private TestRegistry registry;
    private String registryAddress;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeAll
    void setUp(@TempDir Path dir) throws Exception {
        tmp = dir;
        assertThat(DEBS.resolve("complete")).as("real Debian packages: run .ci/debs first").exists();
        repo = new TestArchive(tmp.resolve("repo"));
        try (var debs = Files.list(DEBS)) {
            debs.filter(p -> p.toString().endsWith(".deb")).forEach(p -> repo.add("stable", p));
        }
        Path hello = tmp.resolve("hello-static");
        Files.createDirectories(hello.resolve("usr/bin"));
        Files.writeString(tmp.resolve("hello.c"), """
                #include <stdio.h>
                #include <unistd.h>
                int main(void) { printf("hello from a static binary, uid=%d\\n", (int) getuid()); return 0; }
                """);
        TestArchive.run(List.of("gcc", "-static", "-Os", "-o", hello.resolve("usr/bin/hello").toString(), tmp.resolve("hello.c").toString()));
        Files.setPosixFilePermissions(hello.resolve("usr/bin/hello"), PosixFilePermissions.fromString("rwxr-xr-x"));
        TestArchive.run(List.of("chmod", "4755", hello.resolve("usr/bin/hello").toString())); // setuid: Kiln must strip it
        repo.deb("stable", "hello-static", "1.0", hello);
        Path shell = tmp.resolve("fake-shell");
        Files.createDirectories(shell.resolve("usr/bin"));
        Files.copy(hello.resolve("usr/bin/hello"), shell.resolve("usr/bin/sh"));
        repo.deb("stable", "fake-shell", "1.0", shell);
        Path xz = tmp.resolve("needs-lzma");
        Files.createDirectories(xz.resolve("usr/bin"));
        Files.copy(Path.of("/usr/bin/xz"), xz.resolve("usr/bin/xz"));
        repo.deb("stable", "needs-lzma", "1.0", xz);
        corrupt(repo.deb("stable", "broken", "1.0", Files.createDirectories(tmp.resolve("broken/usr/share/broken"))));
        repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));

        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        stack("python", "[base-files, ca-certificates, tzdata, python3.11-minimal]", "[/usr/bin/python3.11]");
        stack("static", "[base-files, ca-certificates, tzdata, hello-static, fake-shell]", "[/usr/bin/hello]");
        stack("missing-lib", "[needs-lzma]", "[/usr/bin/xz]");
        stack("corrupt", "[broken]", "[]");
        assertThat(kiln(tmp.resolve("data"), "lock", "--all")).as(err()).isZero();

        registry = new TestRegistry(tmp);
        registryAddress = registry.address();
    }

    @AfterAll
    void tearDown() {
        if (registry != null) {
            registry.close();
        }
        if (repo != null) {
            repo.close();
        }
    }

    @Test
    void thePythonImageRunsReadOnlyAsItsUserAndTrustsTheCaBundle() {
        assertThat(kiln(tmp.resolve("data"), "build", "python", "--target", registryAddress + "/test")).as(err()).isZero();
        String image = registryAddress + "/test/golden/python:" + tag();
        assertThat(out()).contains("python").contains(tag()).contains(" layers (").contains(", 12 packages, ").contains("MB pushed");
        String logs = run(image, "-c", "import os, ssl; c = ssl.create_default_context(); "
                + "print('uid=%d gid=%d ca=%d' % (os.getuid(), os.getgid(), c.cert_store_stats()['x509_ca']))");
        assertThat(logs).contains("uid=65532 gid=65532 ca=");
        int ca = Integer.parseInt(logs.replaceAll("(?s).*ca=(\\d+).*", "$1"));
        assertThat(ca).isGreaterThan(100);
    }

    @Test
    void theStaticImageRunsWithoutSetuidBitsOrShellInAnyPushedLayer() throws Exception {
        assertThat(kiln(tmp.resolve("data"), "build", "static", "--target", registryAddress + "/test")).as(err()).isZero();
        // hello's setuid bit, and base-files' setgid /var/local; the fake sh, and the shell scripts nothing can run:
        // update-ca-certificates and base-files' update-motd.d/10-uname
        assertThat(out()).contains("2 setuid/setgid stripped, 3 removed");
        String tag = tag();
        assertThat(run(registryAddress + "/test/golden/static:" + tag)).contains("hello from a static binary, uid=65532");

        Path layout = tmp.resolve("pulled-static");
        TestArchive.run(List.of("skopeo", "copy", "--src-tls-verify=false", "docker://" + registryAddress + "/test/golden/static:" + tag,
                "oci:" + layout + ":pulled"));
        List<String> paths = new ArrayList<>();
        List<String> special = new ArrayList<>();
        String status = null;
        try (var blobs = Files.list(layout.resolve("blobs/sha256"))) {
            for (Path blob : blobs.toList()) {
                if (!isGzip(blob)) {
                    continue;
                }
                try (TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(Files.newInputStream(blob)))) {
                    TarArchiveEntry e;
                    while ((e = tar.getNextEntry()) != null) {
                        paths.add(e.getName());
                        boolean sticky = e.getName().equals("tmp/") || e.getName().equals("var/tmp/");
                        if (!e.isSymbolicLink() && ((e.getMode() & 06000) != 0 || (e.getMode() & 022) != 0 && !sticky)) {
                            special.add(e.getName() + " " + Integer.toOctalString(e.getMode()));
                        }
                        if (e.getName().equals("var/lib/dpkg/status.d/hello-static")) {
                            status = new String(tar.readAllBytes(), StandardCharsets.UTF_8);
                        }
                    }
                }
            }
        }
        assertThat(paths).contains("usr/bin/hello", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "tmp/")
                .doesNotContain("usr/bin/sh", "bin/sh");
        assertThat(special).as("setuid/setgid or group/other-writable entries").isEmpty();
        assertThat(status).contains("Package: hello-static\nStatus: install ok installed\n").contains("Version: 1.0");
    }

    @Test
    void theSameInputsGiveTheSameDigestWithEmptyCachesInAnotherProcess() {
        assertThat(kiln(tmp.resolve("golden-a"), "build", "python")).as(err()).isZero();
        String first = digest();
        // a second JVM: anything that depends on per-process state (hash seeds, clocks) shows up here
        String other = TestArchive.run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                Path.of("target/kiln.jar").toAbsolutePath().toString(), "build", "python",
                "--catalog", catalog.toString(), "--data-dir", tmp.resolve("golden-b").toString()));
        Matcher m = DIGEST.matcher(other);
        assertThat(m.find()).as(other).isTrue();
        assertThat(m.group(1)).isEqualTo(first);
        assertThat(kiln(tmp.resolve("golden-b"), "build", "python")).as(err()).isZero();
        assertThat(digest()).isEqualTo(first);
        // the history now knows these inputs made this image, and the image is there: nothing to do
        assertThat(kiln(tmp.resolve("golden-b"), "build", "python")).isZero();
        assertThat(out()).contains("up to date").contains("nothing pushed").contains("digest " + first);
        String skopeo = TestArchive.run(List.of("skopeo", "inspect", "oci:" + tmp.resolve("golden-b/store") + ":golden/python:" + tag()));
        assertThat(skopeo).contains(first).contains("\"org.opencontainers.image.title\": \"python\"").contains("dev.kiln.lock.digest");
    }

    @Test
    void aMissingLibraryFailsNamingTheFileAndNothingIsTagged() throws Exception {
        assertThat(kiln(tmp.resolve("data"), "build", "missing-lib", "--target", registryAddress + "/test")).isEqualTo(1);
        assertThat(err()).contains("missing-lib: /usr/bin/xz: needs liblzma.so.5, not found in the image")
                .contains("missing-lib: not built, nothing tagged");
        assertThat(registry.tags("test/golden/missing-lib")).isEmpty();
    }

    @Test
    void aCorruptPackageFailsNamingItAndNothingIsTagged() throws Exception {
        assertThat(kiln(tmp.resolve("data"), "build", "corrupt", "--target", registryAddress + "/test")).isEqualTo(1);
        assertThat(err()).contains("broken 1.0: corrupt package").contains("corrupt: not built, nothing tagged");
        assertThat(registry.tags("test/golden/corrupt")).isEmpty();
    }

    @Test
    void anExistingTagIsNeverOverwritten() throws Exception {
        assertThat(kiln(tmp.resolve("data"), "build", "python", "--target", registryAddress + "/clash", "--tag", "taken")).as(err()).isZero();
        String python = digest();
        // the tag 'taken' of the static repository holds the python image
        TestArchive.run(List.of("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                "docker://" + registryAddress + "/clash/golden/python:taken", "docker://" + registryAddress + "/clash/golden/static:taken"));
        assertThat(kiln(tmp.resolve("data"), "build", "static", "--target", registryAddress + "/clash", "--tag", "taken")).isEqualTo(1);
        assertThat(err()).contains(registryAddress + "/clash/golden/static:taken already exists with digest " + python)
                .contains("tags are never overwritten").contains("static: not built, nothing tagged");
        assertThat(TestArchive.run(List.of("skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                "docker://" + registryAddress + "/clash/golden/static:taken")).strip()).isEqualTo(python);
        assertThat(kiln(tmp.resolve("data"), "build", "python", "--target", registryAddress + "/clash", "--tag", "taken")).isZero();
        assertThat(out()).contains("already published");
    }

    private String run(String image, String... command) {
        try (GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))) {
            container.withCommand(command)
                    .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withReadonlyRootfs(true))
                    .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofSeconds(60)))
                    .start();
            return container.getLogs();
        }
    }

    /** Replaces the package's data.tar.xz with a truncated one; the control part stays readable. */
    private void corrupt(Path deb) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("corrupting"));
        TestArchive.run(List.of("ar", "x", deb.toString()), dir);
        byte[] data = Files.readAllBytes(dir.resolve("data.tar.xz"));
        Files.write(dir.resolve("data.tar.xz"), java.util.Arrays.copyOf(data, data.length / 2));
        Files.delete(deb);
        TestArchive.run(List.of("ar", "rc", deb.toString(), "debian-binary", "control.tar.xz", "data.tar.xz"), dir);
    }

    private static boolean isGzip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.read() == 0x1f && in.read() == 0x8b;
        }
    }

    private void stack(String name, String packages, String entrypoint) throws IOException {
        Files.writeString(catalog.resolve(name + ".yaml"), repo.stackHead("test " + name) + """
                packages: %s
                excludes: [openssl, debconf, debconf-2.0, awk, mawk]
                hardening:
                  removeShells: true
                  removePackageManagers: true
                  dropPaths: [/usr/share/doc, /usr/share/man, /usr/share/locale]
                entrypoint: %s
                target:
                  repository: golden/%s
                """.formatted(packages, entrypoint, name));
    }

    private int kiln(Path dataDir, String... args) {
        out.reset();
        err.reset();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--catalog", catalog.toString(), "--data-dir", dataDir.toString()));
        return KilnCommandLine.run(KilnApplication.class, all.toArray(String[]::new),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String digest() {
        Matcher m = DIGEST.matcher(out());
        assertThat(m.find()).as(out()).isTrue();
        return m.group(1);
    }

    private String tag() {
        Matcher m = REFERENCE.matcher(out());
        assertThat(m.find()).as(out()).isTrue();
        return m.group(2);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
