package dev.kiln.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.KilnApplication;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.testing.TestArchive;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `kiln validate` and `kiln lock` end to end, against a signed repository on loopback. */
class KilnCommandLineIT {

    @TempDir
    Path tmp;

    private TestArchive repo;
    private Path catalog;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void setUp() throws IOException {
        repo = new TestArchive(tmp.resolve("repo"));
        repo.deb("stable", "tzdata", "2025b-4");
        repo.deb("stable", "libc6", "2.41-12");
        repo.deb("stable", "app", "1.0", "Depends: libc6");
        Instant now = Instant.now();
        repo.publish("stable", now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(7)));
        catalog = Files.createDirectories(tmp.resolve("catalog"));
        repo.keyring(Files.createDirectories(catalog.resolve("keys")).resolve("test.gpg"), repo.defaultKey());
        stack("good", "[app, tzdata]");
        stack("missing", "[tzdata, openjdk-99-jre]");
        Files.writeString(catalog.resolve("broken.yaml"), "description: x\ncolour: blue\n");
    }

    @AfterEach
    void stop() {
        repo.close();
    }

    private void stack(String name, String packages) throws IOException {
        Files.writeString(catalog.resolve(name + ".yaml"), repo.stackHead("test") + "packages: " + packages + "\n");
    }

    private int kiln(String... args) {
        out.reset();
        err.reset();
        String[] all = new String[args.length + 4];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--catalog";
        all[args.length + 1] = catalog.toString();
        all[args.length + 2] = "--data-dir";
        all[args.length + 3] = tmp.resolve("data").toString();
        return KilnCommandLine.run(KilnApplication.class, all, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void lockAllLocksTheValidStacksAndReportsTheOthers() {
        assertThat(kiln("lock", "--all", "--download")).isEqualTo(1);
        assertThat(out()).contains("good").contains("   3 packages").contains("new").contains("downloaded 3 packages into the cache");
        assertThat(err()).contains(catalog.resolve("missing.yaml") + ": packages[1]: no package 'openjdk-99-jre' in stable")
                .contains(catalog.resolve("broken.yaml") + ": colour: unknown key")
                .contains("broken: invalid, not locked").contains("missing: not locked");
        Lock lock = LockFile.read(catalog.resolve("good.lock.json")).orElseThrow();
        assertThat(lock.packages()).extracting(Lock.Package::name).containsExactly("app", "libc6", "tzdata");
        assertThat(lock.packages().get(1).wantedBy()).isEqualTo("app");
        assertThat(catalog.resolve("missing.lock.json")).doesNotExist();
        assertThat(catalog.resolve("broken.lock.json")).doesNotExist();
        assertThat(TestArchive.files(tmp.resolve("data/cache/packages"))).hasSize(3);
    }

    @Test
    void relockingAnUnchangedArchiveChangesNothing() throws IOException {
        assertThat(kiln("lock", "good")).isZero();
        String first = Files.readString(catalog.resolve("good.lock.json"));
        assertThat(kiln("lock", "good")).isZero();
        assertThat(out()).contains("unchanged");
        assertThat(Files.readString(catalog.resolve("good.lock.json"))).isEqualTo(first);
        assertThat(kiln("lock", "good", "--check")).isZero();
    }

    @Test
    void aNewerPackageShowsAsAChangeAndCheckFailsUntilRelocked() {
        assertThat(kiln("lock", "good")).isZero();
        repo.deb("stable", "tzdata", "2026a-1");
        repo.publish("stable", Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(7)));
        assertThat(kiln("lock", "good", "--check")).isEqualTo(1);
        String outOfDate = catalog.resolve("good.lock.json")
                + ": packages: out of date: locking now would change 1 package (~ tzdata 2025b-4 -> 2026a-1); run 'kiln lock good'";
        assertThat(err()).contains(outOfDate);
        // online validate asks the same question and gets the same answer
        assertThat(kiln("validate", "good")).isEqualTo(1);
        assertThat(err()).contains(outOfDate);
        assertThat(kiln("lock", "good")).isZero();
        assertThat(out()).contains("updated").contains("~ tzdata 2025b-4 -> 2026a-1");
    }

    @Test
    void validateReportsEveryProblemAndStaleLocks() throws IOException {
        assertThat(kiln("lock", "good")).isZero();
        stack("good", "[app]");
        assertThat(kiln("validate")).isEqualTo(1);
        assertThat(err()).contains(catalog.resolve("good.lock.json") + ": stackDigest: stale: resolved from sha256:")
                .contains(catalog.resolve("missing.yaml") + ": packages[1]: no package 'openjdk-99-jre' in stable")
                .contains(catalog.resolve("missing.lock.json") + ": missing; run 'kiln lock missing'")
                .contains(catalog.resolve("broken.yaml") + ": colour: unknown key");
        assertThat(err()).contains(catalog.resolve("good.lock.json") + ": packages: out of date: locking now would change 1 package (- tzdata 2025b-4)");
        assertThat(out()).contains("9 problems in 4 files");
        assertThat(kiln("validate", "--offline")).isEqualTo(1);
        assertThat(err()).doesNotContain("openjdk-99-jre").contains("colour");
        assertThat(kiln("lock", "good")).isZero();
        assertThat(kiln("validate", "good")).isZero();
        assertThat(out()).contains("ok: 1 stack valid");
    }

    @Test
    void validateWithTheCatalogGivenAsDotResolvesKeyringsFromTheWorkingDirectory() throws Exception {
        assertThat(kiln("lock", "good")).isZero();
        // a keyring that links out of the catalog: still refused when the catalog is '.'
        Path outside = repo.keyring(tmp.resolve("outside.gpg"), repo.defaultKey());
        Files.createSymbolicLink(catalog.resolve("keys/linked.gpg"), outside);
        Files.writeString(catalog.resolve("linked.yaml"), repo.stackHead("test").replace("keys/test.gpg", "keys/linked.gpg")
                + "packages: [tzdata]\n");
        assertThat(kilnIn(catalog, "validate", "good", "--catalog", ".")).isEqualTo("ok: 1 stack valid\n(0)\n");
        assertThat(kilnIn(catalog, "validate", "linked", "--catalog", ".")).endsWith("(1)\n").contains("1 problem in 1 file\n")
                .contains("linked.yaml: source.keyring: is a symbolic link to " + outside.toRealPath() + ", outside the catalog directory"
                        + " (line 6)\n");
    }

    @Test
    void theJarExtractedForClassDataSharingRunsFromItsOwnDirectory() throws Exception {
        // docs/benchmarks.md's recipe: extract, then run the extracted jar (its libraries beside it), with or without an archive
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path extracted = tmp.resolve("extracted");
        Process extract = new ProcessBuilder(java, "-Djarmode=tools", "-jar", Path.of("target/kiln.jar").toAbsolutePath().toString(),
                "extract", "--destination", extracted.toString()).redirectErrorStream(true).start();
        String log = new String(extract.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(extract.waitFor()).as(log).isZero();
        assertThat(kiln("lock", "good")).isZero();
        Process kiln = new ProcessBuilder(java, "-jar", extracted.resolve("kiln.jar").toString(), "validate", "good",
                "--catalog", catalog.toString(), "--data-dir", tmp.resolve("data").toString())
                .redirectErrorStream(true).start();
        String output = new String(kiln.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(output + "(" + kiln.waitFor() + ")").isEqualTo("ok: 1 stack valid\n(0)");
    }

    /** The jar run in {@code dir}, as a user types it there (a working directory is per process): its output, then its exit code. */
    private String kilnIn(Path dir, String... args) throws IOException, InterruptedException {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-jar", Path.of("target/kiln.jar").toAbsolutePath().toString()));
        command.addAll(java.util.List.of(args));
        command.addAll(java.util.List.of("--data-dir", tmp.resolve("data").toString()));
        Process kiln = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(kiln.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return output + "(" + kiln.waitFor() + ")\n";
    }

    @Test
    void helpAndUsageErrors() {
        assertThat(kiln("lock", "--help")).isZero();
        assertThat(out()).startsWith("Usage: kiln lock STACK... | --all");
        assertThat(kiln("lock")).isEqualTo(64);
        assertThat(err()).contains("kiln lock: name the stacks to lock, or --all");
        assertThat(kiln("lock", "nosuch")).isEqualTo(64);
        assertThat(err()).contains("no stack 'nosuch'");
        assertThat(kiln("lock", "good", "--frobnicate")).isEqualTo(64);
        assertThat(err()).contains("kiln lock: unknown option --frobnicate");
        assertThat(kiln("frobnicate")).isEqualTo(64);
        assertThat(kiln("build")).isEqualTo(64);
        assertThat(err()).contains("kiln build: name the stacks to build, or --all");
        assertThat(kiln("build", "good")).isEqualTo(1);
        assertThat(err()).contains("good.lock.json: missing; run 'kiln lock good'").contains("good: not built, nothing tagged");
        assertThat(kiln("build", "good", "--target", "not a registry")).isEqualTo(64);
        assertThat(err()).contains("expected 'local', 'ecr[/NAMESPACE]' or HOST[:PORT][/NAMESPACE]");
        assertThat(kiln("retire", "good", "--dry-run")).as(err()).isZero();
        assertThat(out()).contains("good  good on local").contains("dry run: 0 to retire, nothing deleted");
    }

    @Test
    void aDowngradeIsRefusedUnlessPinnedAndAnOlderReleaseOnlyWithARecordedReBase() throws IOException {
        repo.deb("stable", "tzdata", "2026a-1");
        repo.publish("stable", Instant.now().minus(Duration.ofHours(2)), Instant.now().plus(Duration.ofDays(7)));
        assertThat(kiln("lock", "good")).isZero();
        String locked = Files.readString(catalog.resolve("good.lock.json"));

        // the archive goes back: an older Release (a replay) without tzdata 2026a-1
        Files.delete(repo.root().resolve("pool/stable/main/tzdata_2026a-1_amd64.deb"));
        repo.publish("stable", Instant.now().minus(Duration.ofDays(3)), Instant.now().plus(Duration.ofDays(7)));
        assertThat(kiln("lock", "good")).isEqualTo(1);
        assertThat(err()).contains(catalog.resolve("good.yaml") + ": source: " + repo.url() + " stable: the InRelease is dated ")
                .contains("(remembered in " + tmp.resolve("data/state/releases.json") + "): an old Release served again (a rollback)")
                .contains("good: not locked");
        assertThat(Files.readString(catalog.resolve("good.lock.json"))).isEqualTo(locked);

        // a newer Release that lowers tzdata: a downgrade, refused until the stack pins it
        repo.publish("stable", Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofDays(7)));
        assertThat(kiln("lock", "good")).isEqualTo(1);
        assertThat(err()).contains(catalog.resolve("good.yaml") + ": packages: tzdata would go down from 2026a-1 (in "
                + catalog.resolve("good.lock.json") + ") to 2025b-4: a downgrade, refused unless the stack pins it (for example"
                + " 'tzdata (= 2025b-4)' in packages) or it is re-based on purpose (lock with --rebase=REASON)");
        assertThat(Files.readString(catalog.resolve("good.lock.json"))).isEqualTo(locked);
        stack("good", "[app, \"tzdata (= 2025b-4)\"]");
        assertThat(kiln("lock", "good")).as(err()).isZero();
        assertThat(out()).contains("~ tzdata 2026a-1 -> 2025b-4");
    }

    @Test
    void aReBaseAcceptsAnOlderReleaseAndIsRecordedWithWhoAndWhy() throws IOException {
        assertThat(kiln("lock", "good")).isZero();
        repo.publish("stable", Instant.now().minus(Duration.ofDays(5)), Instant.now().plus(Duration.ofDays(7)));
        assertThat(kiln("lock", "good")).isEqualTo(1);
        assertThat(kiln("lock", "good", "--rebase", "snapshot mirror for the 2026-11 audit")).as(err()).isZero();
        assertThat(out()).contains("re-based " + repo.url() + " stable: ").contains(" by cli:" + System.getProperty("user.name")
                + ": snapshot mirror for the 2026-11 audit");
        assertThat(Files.readString(tmp.resolve("data/state/releases.json"))).contains("\"reason\" : \"snapshot mirror for the 2026-11 audit\"");
        assertThat(kiln("lock", "good", "--rebase=")).isEqualTo(64);
        assertThat(err()).contains("kiln lock: --rebase needs a reason");
    }

    @Test
    void anExcludeThatRemovesASharedLibraryARequestedPackageNeedsFailsTheLock() throws IOException {
        repo.deb("stable", "libz1", "1.3", "Section: libs", "Multi-Arch: same");
        repo.deb("stable", "tool", "1.0", "Depends: libz1, libc6");
        repo.publish("stable", Instant.now().minus(Duration.ofMinutes(30)), Instant.now().plus(Duration.ofDays(7)));
        Files.writeString(catalog.resolve("needy.yaml"), repo.stackHead("test") + "packages: [tool]\nexcludes: [libz1]\n");
        assertThat(kiln("lock", "needy")).isEqualTo(1);
        assertThat(err()).contains(catalog.resolve("needy.yaml") + ": packages[0]: tool needs libz1, which the stack excludes"
                + " (tool → libz1; libz1 is a shared library, section libs): remove it from excludes (or, when dropPaths removes"
                + " every file that needs it, move it to excludeLibraries)");
        assertThat(catalog.resolve("needy.lock.json")).doesNotExist();

        // excluded knowingly (the files that need it go by dropPaths): locked, the dependency recorded as dropped
        Files.writeString(catalog.resolve("needy.yaml"), repo.stackHead("test") + "packages: [tool]\nexcludeLibraries: [libz1]\n");
        assertThat(kiln("lock", "needy")).as(err()).isZero();
        assertThat(Files.readString(catalog.resolve("needy.lock.json"))).doesNotContain("\"name\" : \"libz1\"").contains("libz1");
        // named in both lists: which file, which field, why
        Files.writeString(catalog.resolve("needy.yaml"), repo.stackHead("test") + "packages: [tool]\nexcludes: [libz1]\nexcludeLibraries: [libz1]\n");
        assertThat(kiln("validate", "needy", "--offline")).isEqualTo(1);
        assertThat(out() + err()).contains(catalog.resolve("needy.yaml") + ": excludeLibraries[0]: 'libz1' is also in excludes");
    }
}
