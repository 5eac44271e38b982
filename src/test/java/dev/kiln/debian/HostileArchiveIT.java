package dev.kiln.debian;

import static dev.kiln.testing.HostileMirror.bytes;
import static dev.kiln.testing.HostileMirror.endless;
import static dev.kiln.testing.HostileMirror.trickle;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testing.HostileMirror;
import dev.kiln.testing.TestArchive;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * The archive client against a malicious mirror (issue 14): each attack fails fast with its message,
 * and nothing is written: no cache file, no remembered date, nothing outside the data directory.
 * Timeouts are set to a second so that a stalled body costs the suite a second, not minutes.
 */
class HostileArchiveIT {

    private static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    private static final DebianArchive.Limits LIMITS = new DebianArchive.Limits(Duration.ofSeconds(1), Duration.ofSeconds(3), 64 << 10,
            1 << 20, null);

    @TempDir
    Path tmp;

    private TestArchive repo;
    private HostileMirror mirror;
    private Path data;
    private Path keyring;
    private String url;

    @BeforeEach
    void repository() {
        repo = new TestArchive(tmp.resolve("repo"));
        repo.deb("stable", "tzdata", "2025b-4");
        repo.publish("stable", NOW.minus(Duration.ofDays(2)), null);
        keyring = repo.keyring(tmp.resolve("archive.gpg"), repo.defaultKey());
        mirror = new HostileMirror(repo.root().getParent());
        url = mirror.url() + "/debian";
        data = tmp.resolve("data");
    }

    @AfterEach
    void stop() {
        mirror.close();
        repo.close();
    }

    private DebianArchive archive() {
        return archive(data);
    }

    private DebianArchive archive(Path dataDir) {
        // the client as KilnConfiguration makes it: HTTP/1.1, redirects followed (never https to http)
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NORMAL).build();
        return new DebianArchive(http, dataDir.resolve("cache"), Map.of(), Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ZERO, LIMITS, new JsonFileReleaseMemory(dataDir.resolve("state")));
    }

    private Distribution distribution() {
        return new Distribution("amd64", keyring, List.of(new Distribution.Archive(url, List.of("stable"), List.of("main"))));
    }

    private String indexSha() throws IOException {
        return TestArchive.sha256(Files.readAllBytes(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz")));
    }

    private void assertNothingWritten() {
        assertThat(TestArchive.files(data)).as("nothing in the data directory").isEmpty();
    }

    private static long timed(Runnable r) {
        long start = System.nanoTime();
        r.run();
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    void anEndlessInReleaseStopsAtItsCap() {
        mirror.attacks.put("/dists/stable/InRelease", endless());
        long ms = timed(() -> assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: the InRelease at " + url + "/dists/stable/InRelease is larger than 65536 bytes"
                        + " (kiln.archive.max-in-release-bytes); refusing it"));
        assertThat(ms).isLessThan(5_000);
        assertNothingWritten();
    }

    @Test
    void aBodyOfOneByteEveryTwentySecondsFailsOnTheReadTimeout() throws IOException {
        mirror.attacks.put("/dists/stable/InRelease", trickle(Duration.ofSeconds(20)));
        long ms = timed(() -> assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: cannot read " + url + "/dists/stable/InRelease: timed out: no data for 1 s (kiln.archive.read-timeout)"));
        assertThat(ms).isBetween(900L, 5_000L);
        assertNothingWritten();

        mirror.attacks.clear();
        String sha = indexSha();
        long size = Files.size(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz"));
        mirror.attacks.put("/by-hash/SHA256/" + sha, trickle(Duration.ofSeconds(20)));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: main/binary-amd64/Packages.xz (from " + url + "/dists/stable/main/binary-amd64/by-hash/SHA256/"
                        + sha + "): download failed after 1 of " + size + " bytes: timed out: no data for 1 s (kiln.archive.read-timeout);"
                        + " nothing was kept");
        assertThat(TestArchive.files(data.resolve("cache"))).isEmpty();
    }

    @Test
    void aTrickleFasterThanTheReadTimeoutStillEndsAtTheTransferTimeout() {
        mirror.attacks.put("/dists/stable/InRelease", trickle(Duration.ofMillis(200)));
        long ms = timed(() -> assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: cannot read " + url + "/dists/stable/InRelease: timed out: not complete after 3 s"
                        + " (kiln.archive.transfer-timeout)"));
        assertThat(ms).isBetween(2_900L, 6_000L);
        assertNothingWritten();
    }

    @Test
    void anEndlessIndexStopsOneByteAfterItsSignedSize() throws IOException {
        String sha = indexSha();
        long size = Files.size(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz"));
        mirror.attacks.put("/by-hash/SHA256/" + sha, endless());
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: main/binary-amd64/Packages.xz (from " + url + "/dists/stable/main/binary-amd64/by-hash/SHA256/"
                        + sha + "): got more than " + size + " bytes, expected " + size + " bytes with SHA-256 " + sha + "; nothing was kept");
        assertNothingWritten();
    }

    @Test
    void aHashMismatchedIndexBombStopsAtTheSignedSize() throws IOException {
        // an index big enough that a 64 MiB bomb fits in its compressed size
        byte[] noise = new byte[24 << 10];
        new java.util.Random(1).nextBytes(noise);
        repo.packagesEdit = p -> p + "\nPackage: padding\nVersion: 1\nArchitecture: amd64\nFilename: pool/p.deb\nSize: 1\nSHA256: "
                + "0".repeat(64) + "\nDescription: " + java.util.Base64.getEncoder().encodeToString(noise) + "\n";
        repo.publish("stable", NOW.minus(Duration.ofDays(1)), null);
        ByteArrayOutputStream bomb = new ByteArrayOutputStream();
        try (XZOutputStream xz = new XZOutputStream(bomb, new LZMA2Options(0))) {
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) {
                xz.write(zeros);
            }
        }
        long size = Files.size(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz"));
        assertThat((long) bomb.size()).isLessThan(size);
        mirror.attacks.put("/by-hash/SHA256/" + indexSha(), bytes(bomb.toByteArray()));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessageEndingWith("got " + bomb.size() + " bytes with SHA-256 " + TestArchive.sha256(bomb.toByteArray()) + ", expected "
                        + size + " bytes with SHA-256 " + indexSha() + "; nothing was kept");
        assertNothingWritten();

        // the same index with its plain size understated in a validly signed Release: decompression stops there
        mirror.attacks.clear();
        repo.resign("stable", r -> r.replaceFirst("(?m)^ ([0-9a-f]{64}) +\\d+ main/binary-amd64/Packages$", " $1 100 main/binary-amd64/Packages"));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessageEndingWith("main/binary-amd64/Packages.xz (from " + url + "/dists/stable/main/binary-amd64/by-hash/SHA256/" + indexSha()
                        + ") decompresses to more than 100 bytes, the size the Release gives; stopped there, nothing was kept");
        assertThat(TestArchive.files(data.resolve("cache"))).isEmpty();
    }

    @Test
    void aSignedXzIndexDeclaringAHugeDictionaryIsRefusedBeforeItIsAllocated() throws IOException {
        // the archive signs it; the header asks for a 1.5 GiB dictionary, which the decoder would allocate before a byte
        Path index = repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz");
        byte[] forged = dev.kiln.testing.XzForge.xz(Files.readAllBytes(index.resolveSibling("Packages")), 1 << 16, 37);
        String oldLine = " " + indexSha() + " " + Files.size(index) + " main/binary-amd64/Packages.xz";
        Files.write(index, forged);
        repo.resign("stable", r -> r.replace(oldLine, " " + TestArchive.sha256(forged) + " " + forged.length + " main/binary-amd64/Packages.xz"));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: main/binary-amd64/Packages.xz (from " + url + "/dists/stable/main/binary-amd64/Packages.xz):"
                        + " cannot decompress: its xz dictionary needs 1536 MiB of memory, more than the 128 MiB Kiln allows an index");
        assertNothingWritten();
    }

    @Test
    void aMirrorsXzOfThousandsOfBlocksEachDeclaringALargeDictionaryFailsFast() throws IOException {
        byte[] noise = new byte[400 << 10];
        new java.util.Random(2).nextBytes(noise);
        repo.packagesEdit = p -> p + "\nPackage: padding\nVersion: 1\nArchitecture: amd64\nFilename: pool/p.deb\nSize: 1\nSHA256: "
                + "0".repeat(64) + "\nDescription: " + java.util.Base64.getEncoder().encodeToString(noise) + "\n";
        repo.publish("stable", NOW.minus(Duration.ofDays(1)), null);
        long size = Files.size(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz"));
        // unsigned bytes within the signed size: 10,000 blocks of 16 bytes, each declaring a 96 MiB dictionary (under the
        // limit), which the decoder allocated and zeroed once per block before the hash could be checked at the end
        byte[] blocks = dev.kiln.testing.XzForge.xz(new byte[16 * 10_000], 16, 29);
        assertThat((long) blocks.length).isLessThan(size);
        String sha = indexSha();
        mirror.attacks.put("/by-hash/SHA256/" + sha, bytes(blocks));
        long ms = timed(() -> assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessageEndingWith("got " + blocks.length + " bytes with SHA-256 " + TestArchive.sha256(blocks) + ", expected "
                        + size + " bytes with SHA-256 " + sha + "; nothing was kept"));
        assertThat(ms).isLessThan(20_000);
        assertNothingWritten();
    }

    @Test
    void anEndlessDebStopsOneByteAfterItsLockedSize() throws IOException {
        DebianArchive archive = archive();
        DebianArchive.Loaded loaded = archive.load(distribution());
        Lock lock = Lock.of("t", "d", "amd64", loaded, new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("tzdata")), Set.of()));
        Lock.Package tzdata = lock.packages().get(0);
        mirror.attacks.put("/tzdata_2025b-4_amd64.deb", endless());
        long ms = timed(() -> assertThatThrownBy(() -> new PackageCache(archive, data.resolve("cache")).fetch(tzdata))
                .hasMessage("tzdata 2025b-4 (from " + tzdata.url() + "): got more than " + tzdata.size() + " bytes, expected " + tzdata.size()
                        + " bytes with SHA-256 " + tzdata.sha256() + "; stopped at the first byte over, nothing was kept"));
        assertThat(ms).isLessThan(5_000);
        assertThat(TestArchive.files(data.resolve("cache/packages"))).isEmpty();
    }

    @Test
    void anotherSuitesReleaseServedInItsPlaceIsRefused() throws IOException {
        repo.deb("oldstable", "tzdata", "2023c-5");
        repo.publish("oldstable", NOW.minus(Duration.ofDays(1)), null);
        repo.resign("oldstable", r -> r.replace("Codename: oldstable", "Codename: bookworm"));
        Files.copy(repo.root().resolve("dists/oldstable/InRelease"), repo.root().resolve("dists/stable/InRelease"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: the InRelease is for Suite 'oldstable', Codename 'bookworm', not 'stable': another suite's"
                        + " Release served in its place; refusing it");
        assertNothingWritten();
    }

    @Test
    void aReleaseOlderThanTheNewestAcceptedIsRefusedUnlessReBasedOnPurpose() throws IOException {
        DebianArchive.Loaded first = archive().load(distribution());
        Instant newest = first.releases().get(0).date();
        Path memory = data.resolve("state/releases.json");
        String remembered = Files.readString(memory);
        List<Path> cached = TestArchive.files(data.resolve("cache"));

        repo.publish("stable", NOW.minus(Duration.ofDays(9)), null); // validly signed, and older: a replay
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessage(url + " stable: the InRelease is dated " + NOW.minus(Duration.ofDays(9)) + ", before " + newest
                        + ", the newest Release Kiln accepted for this suite (remembered in " + memory + "): an old Release served again"
                        + " (a rollback); refusing it. If the archive was re-based on purpose (a snapshot mirror), lock with --rebase=REASON");
        assertThat(Files.readString(memory)).isEqualTo(remembered);
        assertThat(TestArchive.files(data.resolve("cache"))).isEqualTo(cached);

        // a lock's releases hold too, for a data directory that remembers nothing
        Lock lock = Lock.of("t", "d", "amd64", first, new PackageResolver().resolve(first.index(), List.of(Relation.parse("tzdata")), Set.of()));
        Path fresh = tmp.resolve("fresh-data");
        assertThatThrownBy(() -> archive(fresh).load(distribution(), DebianArchive.Freshness.of(Map.of("catalog/t.lock.json", lock), null)))
                .hasMessageContaining("the newest Release Kiln accepted for this suite (used by catalog/t.lock.json)");
        assertThat(TestArchive.files(fresh)).isEmpty();

        DebianArchive.Loaded rebased = archive().load(distribution(),
                new DebianArchive.Freshness(Map.of(), new DebianArchive.Rebase("cli:alice", "snapshot of 2026-11-11 for an audit")));
        assertThat(rebased.rebased()).containsExactly(new DebianArchive.Rebased(url, "stable", newest, NOW.minus(Duration.ofDays(9))));
        JsonFileReleaseMemory.State state = new JsonFileReleaseMemory(data.resolve("state")).read();
        assertThat(state.releases()).containsExactly(new JsonFileReleaseMemory.Seen(url, "stable", NOW.minus(Duration.ofDays(9)).toString()));
        assertThat(state.rebases()).singleElement().satisfies(r -> {
            assertThat(r.by()).isEqualTo("cli:alice");
            assertThat(r.reason()).isEqualTo("snapshot of 2026-11-11 for an audit");
            assertThat(r.from()).isEqualTo(newest.toString());
        });
    }

    @Test
    void aReleaseEntryThatIsAPathIsRefusedAndTheFileItNamesIsNotTouched() throws IOException {
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "precious");
        String climb = "../".repeat(cacheDepth()) + "victim.txt";
        repo.resign("stable", r -> r.replaceFirst("(?m)^ [0-9a-f]{64}( +\\d+ main/binary-amd64/Packages.xz)$", " " + climb + "$1"));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessageMatching(java.util.regex.Pattern.quote(url + " stable: SHA256 line ") + "\\d+"
                        + java.util.regex.Pattern.quote(" of the Release: '" + climb + "' is not a SHA-256 (64 hex digits); refusing the Release"));
        repo.publish("stable", NOW.minus(Duration.ofDays(2)), null);
        repo.resign("stable", r -> r.replace(" main/binary-amd64/Packages.xz", " main/binary-amd64/../../../../victim.txt"));
        assertThatThrownBy(() -> archive().load(distribution()))
                .hasMessageContaining(": 'main/binary-amd64/../../../../victim.txt' is not an index path");
        assertThat(Files.readString(victim)).isEqualTo("precious");
        assertNothingWritten();
    }

    private int cacheDepth() {
        return data.resolve("cache/indexes").getNameCount() - tmp.getNameCount();
    }

    @Test
    void aPoolFileNameThatClimbsOutOfTheArchiveIsRefused() {
        repo.packagesEdit = p -> p.replace("Filename: pool/", "Filename: pool/../../../");
        repo.publish("stable", NOW.minus(Duration.ofDays(1)), null);
        DebianArchive.Loaded loaded = archive().load(distribution());
        PackageResolver.Resolution r = new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("tzdata")), Set.of());
        assertThatThrownBy(() -> Lock.of("t", "d", "amd64", loaded, r))
                .hasMessage(url + " stable: the Packages stanza of tzdata 2025b-4 gives packages[0].url: '" + url
                        + "/pool/../../../stable/main/tzdata_2025b-4_amd64.deb' has a path with '.', '..', empty or unexpected segments; refusing it");
    }

    @Test
    void redirectsChangeNothingTheSignatureAndSuiteDoNotVouchForAndALoopSaysSo() throws IOException {
        // another suite's genuine InRelease, one redirect away: followed, then refused like the same file served in place
        repo.deb("oldstable", "tzdata", "2024a-1");
        repo.publish("oldstable", NOW.minus(Duration.ofDays(3)), null);
        mirror.redirects.put("/debian/dists/stable/InRelease", "/debian/dists/oldstable/InRelease");
        assertThatThrownBy(() -> archive().load(distribution())).hasMessageContaining(url + " stable: the InRelease is for Suite 'oldstable'");
        assertNothingWritten();

        mirror.redirects.put("/debian/dists/stable/InRelease", "/debian/dists/stable/InRelease");
        assertThatThrownBy(() -> archive().load(distribution())).hasMessageEndingWith("GET " + url + "/dists/stable/InRelease answered HTTP"
                + " 302, a redirect left unfollowed (to '" + url + "/dists/stable/InRelease': more than 5 in a row, or from https to http)");
        assertNothingWritten();
    }

    @Test
    void anUnreachableArchiveSaysWhy() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String closed = "http://127.0.0.1:" + port + "/debian";
        Distribution d = new Distribution("amd64", keyring, List.of(new Distribution.Archive(closed, List.of("stable"), List.of("main"))));
        assertThatThrownBy(() -> archive().load(d))
                .hasMessage("GET " + closed + "/dists/stable/InRelease failed: connection refused");
        assertNothingWritten();
    }
}
