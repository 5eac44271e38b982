package dev.kiln.debian;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.testing.TestArchive;
import java.io.IOException;
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

/** The archive client against a real signed repository served on loopback. */
class DebianArchiveIT {

    private static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);

    @TempDir
    Path tmp;

    private TestArchive repo;
    private Path cache;
    private Path keyring;

    @BeforeEach
    void repository() {
        repo = new TestArchive(tmp.resolve("repo"));
        repo.deb("stable", "app", "1.0-1", "Pre-Depends: libc6 (>= 2.36)", "Depends: libssl3t64 (>= 3.0) | libssl1.1, tzdata");
        repo.deb("stable", "libc6", "2.41-12");
        repo.deb("stable", "libssl3t64", "3.5.1-1", "Depends: libc6 (>= 2.34)");
        repo.deb("stable", "tzdata", "2025b-4", "Provides: tzdata-data");
        repo.deb("stable-security", "libssl3t64", "3.5.1-1+deb13u1", "Depends: libc6 (>= 2.34)");
        repo.offerGzip("stable-security"); // stable offers .xz only: both decompressors are exercised
        repo.publish("stable", NOW.minus(Duration.ofDays(30)), null);
        repo.publish("stable-security", NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(6)));
        keyring = repo.keyring(tmp.resolve("archive.gpg"), repo.defaultKey());
        cache = tmp.resolve("data/cache");
    }

    @AfterEach
    void stop() {
        repo.close();
    }

    private DebianArchive archive(Instant now) {
        return new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(), Clock.fixed(now, ZoneOffset.UTC));
    }

    private Distribution distribution() {
        return new Distribution("amd64", keyring, List.of(new Distribution.Archive(repo.url(), List.of("stable", "stable-security"), List.of("main"))));
    }

    @Test
    void resolvesAgainstTheSignedRepositoryAndTheNewestSuiteWins() throws IOException {
        DebianArchive.Loaded loaded = archive(NOW).load(distribution());
        PackageResolver.Resolution r = new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("app")), Set.of());
        Lock lock = Lock.of("test", "sha256:x", "amd64", loaded, r);
        assertThat(lock.packages()).extracting(p -> p.name() + "=" + p.version() + "@" + p.suite())
                .containsExactly("app=1.0-1@stable", "libc6=2.41-12@stable", "libssl3t64=3.5.1-1+deb13u1@stable-security", "tzdata=2025b-4@stable");
        Lock.Package ssl = lock.packages().get(2);
        Path deb = repo.root().resolve("pool/stable-security/main/libssl3t64_3.5.1-1+deb13u1_amd64.deb");
        assertThat(ssl.url()).isEqualTo(repo.url() + "/pool/stable-security/main/libssl3t64_3.5.1-1+deb13u1_amd64.deb");
        assertThat(ssl.size()).isEqualTo(Files.size(deb));
        assertThat(ssl.sha256()).isEqualTo(TestArchive.sha256(Files.readAllBytes(deb)));
        assertThat(lock.releases()).extracting(Lock.Release::suite, Lock.Release::validUntil)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("stable", null),
                        org.assertj.core.groups.Tuple.tuple("stable-security", NOW.plus(Duration.ofDays(6)).toString()));
        // provenance names the exact signed file each suite was trusted from
        for (Lock.Release release : lock.releases()) {
            Path inRelease = repo.root().resolve("dists/" + release.suite() + "/InRelease");
            assertThat(release.inReleaseSha256()).isEqualTo(TestArchive.sha256(Files.readAllBytes(inRelease)));
            assertThat(release.inReleaseUrl()).isEqualTo(repo.url() + "/dists/" + release.suite() + "/InRelease");
            assertThat(release.origin()).isEqualTo("Kiln Test");
        }
    }

    @Test
    void aLockIsKnownCurrentFromItsInReleasesAloneAndNotOnceOneChanged() throws IOException {
        DebianArchive.Loaded loaded = archive(NOW).load(distribution());
        Lock lock = Lock.of("test", "sha256:x", "amd64", loaded,
                new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("app")), Set.of()));
        cache = tmp.resolve("cold/cache");  // a data directory that has no index
        repo.paths.clear();
        assertThat(archive(NOW).unchangedSince(distribution(), lock)).isTrue();
        assertThat(repo.paths).as("the two InReleases, no index").hasSize(2).allMatch(p -> p.endsWith("/InRelease"));
        repo.publish("stable-security", NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(6)));
        assertThat(archive(NOW).unchangedSince(distribution(), lock)).as("stable-security re-signed").isFalse();
        Lock old = new Lock(lock.lockVersion(), lock.stack(), lock.stackDigest(), lock.architecture(), lock.releases().stream()
                .map(r -> new Lock.Release(r.url(), r.suite(), r.codename(), r.version(), r.date(), r.validUntil(), r.origin(), null)).toList(),
                lock.packages(), lock.dropped());
        assertThat(archive(NOW).unchangedSince(distribution(), old)).as("a lock that predates InRelease hashes").isFalse();
    }

    @Test
    void aWarmRunFetchesOnlyTheInReleaseFiles() throws IOException {
        archive(NOW).load(distribution());
        int cold = repo.requests.getAndSet(0);
        archive(NOW).load(distribution());
        assertThat(cold).isEqualTo(4); // two InRelease, by-hash Packages.xz (stable) and Packages.gz (stable-security)
        String gz = TestArchive.sha256(Files.readAllBytes(repo.root().resolve("dists/stable-security/main/binary-amd64/Packages.gz")));
        String xz = TestArchive.sha256(Files.readAllBytes(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz")));
        assertThat(repo.paths).as("gzip preferred where offered").anyMatch(p -> p.endsWith("/" + gz)).anyMatch(p -> p.endsWith("/" + xz));
        assertThat(repo.requests.get()).isEqualTo(2);
    }

    @Test
    void aWarmRunInANewProcessReadsTheIndexSnapshotAndADamagedOneIsParsedAgain() throws IOException {
        List<String> cold = resolved(archive(NOW).load(distribution()));
        List<Path> texts;
        try (var files = Files.list(cache.resolve("indexes"))) {
            texts = files.filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}")).toList();
        }
        assertThat(texts).hasSize(2);
        // without the Packages text the index can only come from the snapshot
        for (Path text : texts) {
            Files.delete(text);
        }
        int before = repo.requests.get();
        assertThat(resolved(archive(NOW).load(distribution()))).isEqualTo(cold);
        assertThat(repo.requests.get() - before).as("only the InRelease files").isEqualTo(2);

        Path snapshot;
        try (var files = Files.list(cache.resolve("indexes"))) {
            snapshot = files.filter(f -> f.getFileName().toString().startsWith("snapshot-")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(snapshot);
        bytes[bytes.length / 2] ^= 1;
        Files.write(snapshot, bytes);
        assertThat(resolved(archive(NOW).load(distribution()))).as("parsed again from the archive").isEqualTo(cold);
        assertThat(IndexSnapshot.read(snapshot)).as("a fresh snapshot replaced the damaged one").isPresent();
    }

    @Test
    void anIndexThatDidNotChangeIsCopiedFromTheLastIndexAndOnlyTheChangedOneIsRead() throws IOException {
        DebianArchive service = archive(NOW);
        service.load(distribution());
        try (var files = Files.list(cache.resolve("indexes"))) {
            for (Path text : files.filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}")).toList()) {
                Files.delete(text);  // stable's index can now only come from what was built before
            }
        }
        Path firstCache = cache;
        cache = tmp.resolve("process-cache");  // a second process's data directory: only the snapshot
        Files.createDirectories(cache);
        try (var files = Files.walk(firstCache)) {
            files.filter(Files::isRegularFile).forEach(f -> copy(f, cache.resolve(firstCache.relativize(f))));
        }
        repo.deb("stable-security", "libssl3t64", "3.5.1-1+deb13u2", "Depends: libc6 (>= 2.34)");
        repo.publish("stable-security", NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(6)));

        // the service: from the index it holds
        repo.paths.clear();
        List<String> inProcess = resolved(service.load(distribution()));
        assertThat(repo.paths).as("the two InReleases and stable-security's index").hasSize(3)
                .noneMatch(p -> p.contains("/dists/stable/main/"));
        // a new process: from the last snapshot
        repo.paths.clear();
        List<String> fromSnapshot = resolved(archive(NOW).load(distribution()));
        assertThat(repo.paths).hasSize(3).noneMatch(p -> p.contains("/dists/stable/main/"));

        cache = tmp.resolve("fresh-cache");
        DebianArchive.Loaded fresh = archive(NOW).load(distribution());
        assertThat(fromSnapshot).isEqualTo(inProcess).isEqualTo(resolved(fresh))
                .anyMatch(p -> p.startsWith("libssl3t64=3.5.1-1+deb13u2@stable-security "))
                .anyMatch(p -> p.startsWith("tzdata=2025b-4@stable "));
    }

    @Test
    void aMirrorWithoutByHashOrWithoutTheGzipFormIsServedFromWhatItHas() throws IOException {
        List<String> expected = resolved(archive(NOW).load(distribution()));
        deleteTree(cache);
        // stable: no by-hash directory; stable-security: the Release lists Packages.gz, the mirror lost it
        deleteTree(repo.root().resolve("dists/stable/main/binary-amd64/by-hash"));
        Path security = repo.root().resolve("dists/stable-security/main/binary-amd64");
        String gz = TestArchive.sha256(Files.readAllBytes(security.resolve("Packages.gz")));
        Files.delete(security.resolve("Packages.gz"));
        Files.delete(security.resolve("by-hash/SHA256/" + gz));
        repo.paths.clear();
        assertThat(resolved(archive(NOW).load(distribution()))).isEqualTo(expected);
        assertThat(repo.paths).contains("/debian/dists/stable/main/binary-amd64/Packages.xz")
                .anyMatch(p -> p.startsWith("/debian/dists/stable-security/main/binary-amd64/by-hash/SHA256/") && !p.endsWith(gz));
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void copy(Path from, Path to) {
        try {
            Files.createDirectories(to.getParent());
            Files.copy(from, to);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> resolved(DebianArchive.Loaded loaded) {
        return Lock.of("t", "d", "amd64", loaded, new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("app")), Set.of()))
                .packages().stream().map(p -> p.name() + "=" + p.version() + "@" + p.suite() + " " + p.sha256()).toList();
    }

    @Test
    void theCacheDownloadsVerifiedPackagesByHash() throws IOException {
        DebianArchive archive = archive(NOW);
        DebianArchive.Loaded loaded = archive.load(distribution());
        Lock lock = Lock.of("t", "d", "amd64", loaded, new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("app")), Set.of()));
        PackageCache packages = new PackageCache(archive, cache);
        for (Lock.Package p : lock.packages()) {
            Path cached = packages.fetch(p);
            assertThat(cached.getFileName().toString()).isEqualTo(p.sha256() + ".deb");
            assertThat(TestArchive.sha256(Files.readAllBytes(cached))).isEqualTo(p.sha256());
        }
        int before = repo.requests.get();
        lock.packages().forEach(packages::fetch);
        assertThat(repo.requests.get()).as("cached packages are not downloaded again").isEqualTo(before);
    }

    @Test
    void aReusedInReleaseIsStillCheckedAgainstEachStacksKeyring() throws IOException {
        DebianArchive archive = new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(), Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ofSeconds(30), DebianArchive.Limits.DEFAULT, new JsonFileReleaseMemory(tmp.resolve("data/state")));
        archive.load(distribution());
        // another stack trusts another key: the InRelease verified a moment ago for the first keyring does not count for it
        Path strangers = repo.keyring(tmp.resolve("strangers.gpg"), repo.newKey("Someone Else <else@kiln.test>"));
        Distribution other = new Distribution("amd64", strangers, distribution().archives());
        assertThatThrownBy(() -> archive.load(other))
                .hasMessageStartingWith(repo.url() + " stable: no valid signature by a key in " + strangers + "; signed by ");
    }

    @Test
    void aKeptInReleaseOlderThanOneAnotherInstanceAcceptedIsFetchedAgainNotRefusedAsARollback() {
        ReleaseMemory shared = new JsonFileReleaseMemory(tmp.resolve("data/state"));
        DebianArchive first = new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(), Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ofSeconds(30), DebianArchive.Limits.DEFAULT, shared);
        DebianArchive second = new DebianArchive(HttpClient.newHttpClient(), tmp.resolve("second/cache"), Map.of(),
                Clock.fixed(NOW, ZoneOffset.UTC), Duration.ofSeconds(30), DebianArchive.Limits.DEFAULT, shared);
        first.load(distribution()); // keeps the security suite's InRelease of a day ago
        Instant newer = NOW.minus(Duration.ofHours(1));
        repo.publish("stable-security", newer, NOW.plus(Duration.ofDays(6)));
        second.load(distribution()); // another instance accepts the newer one: the shared floor moves
        DebianArchive.Loaded again = first.load(distribution());
        assertThat(again.releases()).filteredOn(r -> r.suite().equals("stable-security")).singleElement()
                .satisfies(r -> assertThat(r.date()).isEqualTo(newer));
        // a mirror that really serves the older Release is still refused
        repo.publish("stable-security", NOW.minus(Duration.ofDays(2)), NOW.plus(Duration.ofDays(6)));
        assertThatThrownBy(() -> archive(NOW).load(distribution())).hasMessageContaining("(a rollback)");
    }

    @Test
    void refusesATamperedSignature() throws IOException {
        Path inRelease = repo.root().resolve("dists/stable/InRelease");
        Files.writeString(inRelease, Files.readString(inRelease).replace("Label: Kiln Test", "Label: Kiln Evil"));
        assertThatThrownBy(() -> archive(NOW).load(distribution())).isInstanceOf(DebianException.class)
                .hasMessageMatching(repo.url().replace(".", "\\.") + " stable: BAD signature by key [0-9A-F]{16}: the InRelease was altered after it was signed");
        assertThat(TestArchive.files(cache)).isEmpty();
    }

    @Test
    void refusesAReleaseSignedByAKeyOutsideTheKeyring() {
        String stranger = repo.newKey("Someone Else <else@kiln.test>");
        repo.publish("stable", NOW.minus(Duration.ofDays(30)), null, stranger);
        assertThatThrownBy(() -> archive(NOW).load(distribution()))
                .hasMessageStartingWith(repo.url() + " stable: no valid signature by a key in " + keyring + "; signed by ")
                .hasMessageContaining("(not in archive.gpg)");
        assertThat(TestArchive.files(cache)).isEmpty();
    }

    @Test
    void refusesTextOutsideTheSignature() throws IOException {
        Path inRelease = repo.root().resolve("dists/stable/InRelease");
        Files.writeString(inRelease, Files.readString(inRelease) + "SHA256:\n deadbeef 1 main/binary-amd64/Packages.xz\n");
        assertThatThrownBy(() -> archive(NOW).load(distribution()))
                .hasMessage(repo.url() + " stable: text after the signature block; refusing the InRelease");
    }

    @Test
    void refusesAnIndexWhoseHashDiffersFromTheRelease() throws IOException {
        Path byHash = repo.root().resolve("dists/stable/main/binary-amd64/by-hash/SHA256");
        try (var files = Files.list(byHash)) {
            for (Path f : files.toList()) {
                Files.write(f, "Package: evil\n".getBytes(), java.nio.file.StandardOpenOption.APPEND);
            }
        }
        Files.write(repo.root().resolve("dists/stable/main/binary-amd64/Packages.xz"), "corrupt".getBytes());
        assertThatThrownBy(() -> archive(NOW).load(distribution()))
                .hasMessageMatching(".* stable: main/binary-amd64/Packages\\.xz \\(from .*by-hash/SHA256/[0-9a-f]{64}\\): got (\\d+ bytes with SHA-256 [0-9a-f]{64}|more than \\d+ bytes), expected \\d+ bytes with SHA-256 [0-9a-f]{64}; nothing was kept");
        assertThat(TestArchive.files(cache.resolve("indexes"))).isEmpty();
    }

    @Test
    void refusesAPackageWhoseHashDiffersFromTheLockAndCachesNothing() throws IOException {
        DebianArchive archive = archive(NOW);
        DebianArchive.Loaded loaded = archive.load(distribution());
        Lock lock = Lock.of("t", "d", "amd64", loaded, new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("tzdata")), Set.of()));
        Lock.Package tzdata = lock.packages().get(0);
        Path deb = repo.root().resolve("pool/stable/main/tzdata_2025b-4_amd64.deb");
        byte[] bytes = Files.readAllBytes(deb);
        bytes[bytes.length / 2] ^= 1;
        Files.write(deb, bytes);
        assertThatThrownBy(() -> new PackageCache(archive, cache).fetch(tzdata))
                .hasMessage("tzdata 2025b-4 (from " + tzdata.url() + "): got " + bytes.length + " bytes with SHA-256 "
                        + TestArchive.sha256(bytes) + ", expected " + bytes.length + " bytes with SHA-256 " + tzdata.sha256() + "; nothing was kept");
        assertThat(TestArchive.files(cache.resolve("packages"))).isEmpty();
    }

    @Test
    void refusesAnExpiredRelease() {
        Instant later = NOW.plus(Duration.ofDays(7));
        assertThatThrownBy(() -> archive(later).load(distribution()))
                .hasMessage(repo.url() + " stable-security: the Release expired at " + NOW.plus(Duration.ofDays(6))
                        + " (Valid-Until); the archive or mirror is stale or replaying an old Release");
    }

    /** A freeze: a suite without Valid-Until (trixie's main has none) whose mirror stopped updating weeks ago. */
    @Test
    void refusesAReleaseOlderThanTheMaximumAgeAndKeepsNoIndex() throws IOException {
        DebianArchive.Limits fortnight = new DebianArchive.Limits(Duration.ofSeconds(30), Duration.ofMinutes(30), 16L << 20, 1L << 30,
                Duration.ofDays(14));
        DebianArchive frozen = new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(), Clock.fixed(NOW, ZoneOffset.UTC),
                Duration.ofSeconds(30), fortnight, new JsonFileReleaseMemory(tmp.resolve("frozen/state")));
        assertThatThrownBy(() -> frozen.load(distribution()))
                .hasMessage(repo.url() + " stable: the Release is dated " + NOW.minus(Duration.ofDays(30)) + ", older than PT336H"
                        + " (kiln.archive.max-release-age): the mirror may have stopped updating (a freeze); refusing it");
        assertThat(TestArchive.files(cache.resolve("indexes"))).as("no index of a refused Release").isEmpty();
        assertThat(tmp.resolve("frozen/state")).as("nothing remembered").satisfiesAnyOf(
                d -> assertThat(d).doesNotExist(), d -> assertThat(TestArchive.files(d)).isEmpty());

        DebianArchive.Limits twoMonths = new DebianArchive.Limits(Duration.ofSeconds(30), Duration.ofMinutes(30), 16L << 20, 1L << 30,
                Duration.ofDays(60));
        new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(), Clock.fixed(NOW, ZoneOffset.UTC), Duration.ofSeconds(30), twoMonths,
                new JsonFileReleaseMemory(tmp.resolve("fresh/state"))).load(distribution());
    }

    @Test
    void refusesAMissingSuiteOrComponent() {
        Distribution noSuite = new Distribution("amd64", keyring, List.of(new Distribution.Archive(repo.url(), List.of("unstable"), List.of("main"))));
        assertThatThrownBy(() -> archive(NOW).load(noSuite))
                .hasMessage(repo.url() + " unstable: no InRelease at " + repo.url() + "/dists/unstable/InRelease (is 'unstable' a suite of this archive?)");
        Distribution noComponent = new Distribution("amd64", keyring, List.of(new Distribution.Archive(repo.url(), List.of("stable"), List.of("contrib"))));
        assertThatThrownBy(() -> archive(NOW).load(noComponent))
                .hasMessage(repo.url() + " stable: the Release lists no contrib/binary-amd64/Packages index (is 'contrib' a component of this suite, and 'amd64' one of its architectures?)");
    }

    @Test
    void fetchesThroughAMirrorButRecordsTheArchiveUrl() {
        String canonical = "http://deb.example.invalid/debian";
        DebianArchive archive = new DebianArchive(HttpClient.newHttpClient(), cache, Map.of(canonical, repo.url()), Clock.fixed(NOW, ZoneOffset.UTC));
        Distribution d = new Distribution("amd64", keyring, List.of(new Distribution.Archive(canonical, List.of("stable"), List.of("main"))));
        DebianArchive.Loaded loaded = archive.load(d);
        Lock lock = Lock.of("t", "d", "amd64", loaded, new PackageResolver().resolve(loaded.index(), List.of(Relation.parse("tzdata")), Set.of()));
        assertThat(lock.packages().get(0).url()).isEqualTo(canonical + "/pool/stable/main/tzdata_2025b-4_amd64.deb");
        assertThat(new PackageCache(archive, cache).fetch(lock.packages().get(0))).exists();
    }
}
