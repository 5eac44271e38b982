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
}
