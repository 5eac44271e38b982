package dev.kiln.debian;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterInputStream;
import java.io.OutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.MemoryLimitException;
import org.tukaani.xz.XZInputStream;

/**
 * Client of a Debian archive: fetches each suite's InRelease, verifies its signature and freshness,
 * then fetches the Packages indexes the Release vouches for (by hash where the archive offers it),
 * verifies their SHA-256 and parses them streaming. Verified indexes are cached under the data
 * directory by their hash, so a warm run downloads only the InRelease files.
 */
public final class DebianArchive {

    /**
     * Index compressions in order of preference. gzip first: Debian offers both, and the JDK's zlib
     * inflates trixie's 57 MB main index in 0.15 s where xz-java takes 1 s; gzip's 3.6 MB more to
     * download cost less than that on any link faster than about 30 Mbit/s.
     */
    private static final List<String> COMPRESSIONS = List.of(".gz", ".xz", "");
    /**
     * Decoder memory for an xz index: Debian's declare an 8 MiB dictionary, xz -9 64 MiB. The decoder
     * allocates what the header declares before a byte is checked, so a larger one is refused unread.
     */
    static final int XZ_MEMORY_KIB = 128 << 10;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DebianArchive.class);

    private final HttpClient http;
    private final Path indexCache;
    private final Map<String, String> mirrors;
    private final Clock clock;
    private final Duration inReleaseReuse;
    private final Limits limits;
    private final ReleaseMemory memory;
    /** The parsed index per shape (architecture and index origins): only the newest is kept. */
    private final Map<List<String>, Memo> loaded = new ConcurrentHashMap<>();
    private final Map<Path, CompletableFuture<PackageIndex>> indexReads = new ConcurrentHashMap<>();
    private final Map<String, Fetched> inReleases = new ConcurrentHashMap<>();

    private record Memo(List<String> hashes, PackageIndex index) {
    }

    /**
     * An InRelease whose signature was checked against a keyring (by its SHA-256) and parsed: a thousand
     * stacks ticking together share one archive, and checking its signature and parsing its several
     * thousand index lines for each took most of an unchanged tick. Reused as the InRelease bytes are
     * (within {@code inReleaseReuse}); the checks of suite, freshness, age and rollback run every time.
     */
    private record Checked(String inReleaseSha256, ReleaseFile release, Instant at) {
    }

    private final Map<String, Checked> checked = new ConcurrentHashMap<>();

    private record Fetched(byte[] body, java.time.Instant at) {
    }

    /**
     * What an archive may send, each limit enforced while the bytes stream in (never read first and
     * checked later): a stalled or trickling body, an oversized InRelease or index, and a Release too
     * old to trust (a frozen mirror; off when null).
     *
     * @param readTimeout      no byte for this long fails a transfer (the response headers too)
     * @param transferTimeout  a whole transfer (an index, a .deb) must be done within this
     * @param maxInReleaseBytes an InRelease larger than this is refused
     * @param maxIndexBytes    an index (compressed, or decompressed where the Release gives no size) larger than this is refused
     * @param maxReleaseAge    a Release whose Date is older than this is refused; null: no limit
     */
    public record Limits(Duration readTimeout, Duration transferTimeout, long maxInReleaseBytes, long maxIndexBytes,
                         Duration maxReleaseAge) {
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(30), Duration.ofMinutes(30), 16L << 20, 1L << 30, null);
    }

    /**
     * What a Release is held to besides its signature: the dates in locks' {@code releases} (no
     * InRelease may be older than what a lock already used) and, when {@code rebase} is given, a
     * deliberate move back to older Releases (a snapshot mirror), recorded with who and why.
     */
    public record Freshness(Map<String, Floor> floors, Rebase rebase) {
        public static final Freshness NONE = new Freshness(Map.of(), null);

        /** The newest date a suite's Release had in a lock, and which lock that was. */
        public record Floor(Instant date, String source) {
        }

        public Freshness {
            floors = Map.copyOf(floors);
        }

        /** The floors of these locks' releases (by where each lock is); null locks are skipped. */
        public static Freshness of(Map<String, Lock> locks, Rebase rebase) {
            Map<String, Floor> floors = new java.util.HashMap<>();
            locks.forEach((source, lock) -> {
                if (lock != null) {
                    lock.releases().forEach(r -> floors.merge(key(r.url(), r.suite()), new Floor(Instant.parse(r.date()), source),
                            (a, b) -> a.date().isAfter(b.date()) ? a : b));
                }
            });
            return new Freshness(floors, rebase);
        }

        static String key(String archiveUrl, String suite) {
            return archiveUrl + " " + suite;
        }
    }

    /** A deliberate re-base: who asked for it and why. */
    public record Rebase(String who, String why) {
    }

    /** A Release that went back in time on purpose: the date it replaced. */
    public record Rebased(String archiveUrl, String suite, Instant from, Instant to) {
    }

    /**
     * For tests and tools: default limits, the release memory in {@code <cacheDir>/../state}.
     *
     * @param mirrors archive URL prefixes and what to fetch them from instead (a mirror, a snapshot, a
     *                proxy); locks keep the original URL so they stay portable
     */
    public DebianArchive(HttpClient http, Path cacheDir, Map<String, String> mirrors, Clock clock) {
        this(http, cacheDir, mirrors, clock, Duration.ZERO, Limits.DEFAULT,
                new JsonFileReleaseMemory(cacheDir.toAbsolutePath().getParent().resolve("state")));
    }

    /**
     * @param inReleaseReuse an InRelease fetched this recently is not fetched again (the service's many
     *                       stacks ticking together share one fetch per suite); zero fetches every time
     * @param memory         the newest Release dates accepted before, which no InRelease may go back on
     */
    public DebianArchive(HttpClient http, Path cacheDir, Map<String, String> mirrors, Clock clock, Duration inReleaseReuse,
                         Limits limits, ReleaseMemory memory) {
        this.http = http;
        this.indexCache = cacheDir.resolve("indexes");
        this.mirrors = Map.copyOf(mirrors);
        this.clock = clock;
        this.inReleaseReuse = inReleaseReuse;
        this.limits = limits;
        this.memory = memory;
    }

    /** How whoever locks through this archive re-bases on purpose (the CLI's option, the service's API), for refusals. */
    public String rebaseHint() {
        return memory.rebaseHint();
    }

    /**
     * The merged index of each architecture of a distribution (in its order), the Releases they came
     * from (one per suite, shared by every architecture) and those that went back on purpose.
     */
    public record Loaded(Map<String, PackageIndex> indexes, List<SuiteRelease> releases, List<Rebased> rebased) {
        public Loaded {
            indexes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(indexes));
            releases = List.copyOf(releases);
            rebased = List.copyOf(rebased);
        }

        public Loaded(PackageIndex index, List<SuiteRelease> releases, List<Rebased> rebased) {
            this(Map.of(index.architecture(), index), releases, rebased);
        }

        /** The index of a single-architecture distribution. */
        public PackageIndex index() {
            if (indexes.size() != 1) {
                throw new IllegalStateException("loaded " + indexes.keySet() + "; ask for one architecture's index");
            }
            return indexes.values().iterator().next();
        }

        public PackageIndex index(String architecture) {
            PackageIndex index = indexes.get(architecture);
            if (index == null) {
                throw new IllegalArgumentException("no index loaded for " + architecture + " (loaded " + indexes.keySet() + ")");
            }
            return index;
        }
    }

    public Loaded load(Distribution distribution) {
        return load(distribution, Freshness.NONE);
    }

    /**
     * Loads (or reuses, within this process, when every Release lists the same indexes) a distribution's
     * packages. Each InRelease must be signed by the keyring, be for the suite asked for, be fresh, have
     * each architecture asked for, and not be older than any Release accepted before (remembered, or in
     * {@code freshness}); only when every suite passed are their dates remembered. Every architecture's
     * indexes come from the same Releases, fetched once, and are read side by side.
     */
    public Loaded load(Distribution distribution, Freshness freshness) {
        long start = System.nanoTime();
        List<String[]> suites = new ArrayList<>();
        for (Distribution.Archive archive : distribution.archives()) {
            for (String suite : archive.suites()) {
                suites.add(new String[] {archive.url(), suite});
            }
        }
        Map<String, List<String>> keys = new java.util.LinkedHashMap<>();
        Map<String, String> shapes = new java.util.LinkedHashMap<>();
        for (String arch : distribution.architectures()) {
            List<String> key = new ArrayList<>();
            key.add(arch);
            for (Distribution.Archive archive : distribution.archives()) {
                for (String suite : archive.suites()) {
                    archive.components().forEach(c -> key.add(new PackageRecord.Origin(archive.url(), suite, c).toString()));
                }
            }
            keys.put(arch, key);
            shapes.put(arch, "snapshot-" + hex(String.join("\n", key)).substring(0, 16) + "-");
        }
        // the network first, every suite at once; a new process meanwhile reads its newest snapshots on the
        // guess that the indexes did not change (checked below against the signed Releases)
        Map<String, CompletableFuture<Snapshot>> guesses = new java.util.LinkedHashMap<>();
        keys.forEach((arch, key) -> guesses.put(arch, loaded.containsKey(key) ? CompletableFuture.completedFuture(null)
                : CompletableFuture.supplyAsync(() -> newestSnapshot(shapes.get(arch)), POOL)));
        List<Verified> verifiedReleases = releases(distribution, suites, freshness);
        List<SuiteRelease> releases = new ArrayList<>();
        List<Rebased> rebased = new ArrayList<>();
        Map<String, List<IndexFile>> files = new java.util.LinkedHashMap<>();
        distribution.architectures().forEach(a -> files.put(a, new ArrayList<>()));
        for (Verified v : verifiedReleases) {
            releases.add(v.summary());
            if (v.rebased() != null) {
                rebased.add(v.rebased());
            }
            String url = v.summary().archiveUrl();
            String suite = v.summary().suite();
            String what = url + " " + suite;
            for (String arch : distribution.architectures()) {
                v.release().checkArchitecture(arch, what);
                for (Distribution.Archive archive : distribution.archives()) {
                    if (archive.url().equals(url) && archive.suites().contains(suite)) {
                        for (String component : archive.components()) {
                            files.get(arch).add(indexFile(url, suite, component, arch, v.release(), what));
                        }
                    }
                }
            }
        }
        long verified = System.nanoTime();
        // each architecture's indexes are parsed on a thread of their own: the second core is otherwise idle
        Map<String, CompletableFuture<PackageIndex>> reading = new java.util.LinkedHashMap<>();
        for (String arch : distribution.architectures()) {
            reading.put(arch, distribution.architectures().size() == 1
                    ? CompletableFuture.completedFuture(index(arch, keys.get(arch), shapes.get(arch), files.get(arch), guesses.get(arch), start, verified))
                    : CompletableFuture.supplyAsync(() -> index(arch, keys.get(arch), shapes.get(arch), files.get(arch), guesses.get(arch), start,
                    verified), POOL));
        }
        Map<String, PackageIndex> indexes = new java.util.LinkedHashMap<>();
        reading.forEach((arch, future) -> indexes.put(arch, join(future)));
        remember(releases, rebased, freshness);
        return new Loaded(indexes, releases, rebased);
    }

    /** One architecture's merged index: kept from this process, read from its snapshot, or built from the indexes. */
    private PackageIndex index(String arch, List<String> key, String shape, List<IndexFile> files, CompletableFuture<Snapshot> guess,
                               long start, long verified) {
        List<String> hashes = files.stream().map(IndexFile::sha256).toList();
        Memo cached = loaded.get(key);
        if (cached != null && cached.hashes().equals(hashes)) {
            return cached.index();
        }
        Path snapshot = indexCache.resolve(shape + hex(String.join("\n", hashes)).substring(0, 32) + ".bin");
        // builds starting together (a service's first tick) wait for one reading instead of each holding a whole index in memory
        CompletableFuture<PackageIndex> mine = new CompletableFuture<>();
        CompletableFuture<PackageIndex> other = indexReads.putIfAbsent(snapshot, mine);
        if (other != null) {
            return join(other);
        }
        try {
            PackageIndex index = read(arch, key, shape, files, guess, cached, hashes, snapshot, start, verified);
            mine.complete(index);
            return index;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            indexReads.remove(snapshot, mine);
        }
    }

    private PackageIndex read(String arch, List<String> key, String shape, List<IndexFile> files, CompletableFuture<Snapshot> guess,
                              Memo cached, List<String> hashes, Path snapshot, long start, long verified) {
        Snapshot guessed = join(guess);
        PackageIndex index = guessed != null && guessed.file().equals(snapshot) ? guessed.index() : IndexSnapshot.read(snapshot).orElse(null);
        if (index == null) {
            // what was built before, in this process or the last snapshot: its records of an index that did
            // not change are copied rather than parsed again (Debian's security suite changes daily, main rarely)
            PackageIndex previous = cached != null ? cached.index() : guessed != null ? guessed.index() : null;
            PackageIndex.Builder builder = PackageIndex.builder(arch);
            files.forEach(f -> builder.suite(f.origin().suite()));
            int reused = 0;
            for (IndexFile f : files) {
                builder.source(f.origin(), f.sha256());
                if (previous != null && f.sha256().equals(previous.source(f.origin())) && builder.copy(previous, f.origin()) > 0) {
                    reused++;
                } else {
                    parse(f, builder);
                }
            }
            index = builder.build();
            long parsed = System.nanoTime();
            saveSnapshot(snapshot, shape, index);
            if (LOG.isDebugEnabled()) {
                LOG.debug("{} {} packages: Releases fetched and verified in {} ms, indexes read in {} ms ({} of {} unchanged, copied), snapshot written in {} ms",
                        index.size(), arch, (verified - start) / 1_000_000, (parsed - verified) / 1_000_000, reused, files.size(),
                        (System.nanoTime() - parsed) / 1_000_000);
            }
        } else if (LOG.isDebugEnabled()) {
            LOG.debug("{} {} packages: Releases fetched and verified in {} ms, snapshot read in {} ms",
                    index.size(), arch, (verified - start) / 1_000_000, (System.nanoTime() - verified) / 1_000_000);
        }
        loaded.put(List.copyOf(key), new Memo(hashes, index));
        return index;
    }

    /** A suite's InRelease, fetched and verified: its parsed Release, its summary for the lock, and a re-base it needed. */
    private record Verified(ReleaseFile release, SuiteRelease summary, Rebased rebased) {
    }

    /**
     * Every suite's InRelease, fetched all at once and each verified: signed by the keyring, for the suite
     * asked for, fresh, and not older than any Release accepted before.
     */
    private List<Verified> releases(Distribution distribution, List<String[]> suites, Freshness freshness) {
        List<CompletableFuture<Got>> fetches = suites.stream()
                .map(s -> CompletableFuture.supplyAsync(() -> fetchInRelease(s[0], s[1], s[0] + " " + s[1]), POOL)).toList();
        Path keyringPath = distribution.keyring();
        byte[] keyringBytes = Keyring.read(keyringPath);
        String keyringSha256 = HexFormat.of().formatHex(sha256().digest(keyringBytes));
        List<Verified> out = new ArrayList<>();
        for (int i = 0; i < suites.size(); i++) {
            String url = suites.get(i)[0];
            String suite = suites.get(i)[1];
            String what = url + " " + suite;
            Got got = join(fetches.get(i));
            try {
                out.add(verified(url, suite, got.body(), keyringPath, keyringBytes, keyringSha256, freshness));
            } catch (Rollback e) {
                if (!got.reused()) {
                    throw e;
                }
                // kept from an earlier fetch, and another instance has accepted a newer Release since: fetch it now, once
                out.add(verified(url, suite, refetchInRelease(url, suite, what).body(), keyringPath, keyringBytes, keyringSha256, freshness));
            }
        }
        return out;
    }

    /** One suite's InRelease checked: signature (or the verified parse kept with these bytes), suite, freshness, age, rollback. */
    private Verified verified(String url, String suite, byte[] inRelease, Path keyringPath, byte[] keyringBytes, String keyringSha256,
                              Freshness freshness) {
        String what = url + " " + suite;
        String inReleaseSha256 = HexFormat.of().formatHex(sha256().digest(inRelease));
        Instant now = clock.instant();
        String checkedKey = what + " " + keyringSha256;
        Checked memo = checked.get(checkedKey);
        ReleaseFile release;
        if (memo != null && memo.inReleaseSha256().equals(inReleaseSha256) && memo.at().plus(inReleaseReuse).isAfter(now)) {
            release = memo.release();
        } else {
            // the keyring is parsed only here: a kept verification, the usual case in a tick, needs only its bytes' hash
            release = ReleaseFile.parse(InReleaseVerifier.verify(inRelease, Keyring.of(keyringPath, keyringBytes), now, what), what);
            if (!inReleaseReuse.isZero()) {
                if (checked.size() > 256) {
                    checked.clear(); // many archives, suites or keyrings: start over rather than grow
                }
                checked.put(checkedKey, new Checked(inReleaseSha256, release, now));
            }
        }
        release.checkSuite(suite, what);
        release.checkFreshness(clock.instant(), what);
        checkAge(release, what);
        Instant floor = checkRollback(url, suite, release.date(), freshness, what);
        return new Verified(release, new SuiteRelease(url, suite, release.codename(), release.version(), release.date(),
                release.validUntil(), release.origin(), inReleaseSha256),
                floor == null ? null : new Rebased(url, suite, floor, release.date()));
    }

    /** A Release older than one accepted before: refused, unless it was a kept InRelease that a fresh fetch replaces. */
    private static final class Rollback extends DebianException {
        Rollback(String message) {
            super(message);
        }
    }

    /**
     * Whether the archive is, byte for byte, what {@code lock} was resolved from: every suite's InRelease
     * (fetched and verified as {@link #load} does) has the SHA-256 the lock recorded. The signed Release
     * fixes every index's hash, and resolution is deterministic, so the same InReleases resolve to the
     * same lock: a build can say "current" after fetching three small files instead of every index.
     * False when any differs, or the lock predates recorded InRelease hashes.
     */
    public boolean unchangedSince(Distribution distribution, Lock lock) {
        List<String[]> suites = new ArrayList<>();
        distribution.archives().forEach(a -> a.suites().forEach(s -> suites.add(new String[] {a.url(), s})));
        Map<String, String> locked = new LinkedHashMap<>();
        lock.releases().forEach(r -> locked.put(r.url() + " " + r.suite(), r.inReleaseSha256()));
        if (locked.size() != suites.size() || locked.containsValue(null)) {
            return false;
        }
        for (Verified v : releases(distribution, suites, Freshness.NONE)) {
            if (!v.summary().inReleaseSha256().equals(locked.get(v.summary().archiveUrl() + " " + v.summary().suite()))) {
                return false;
            }
        }
        return true;
    }

    /** Refuses a Release older than {@code maxReleaseAge}: a mirror that stopped updating (a freeze) serves one. */
    private void checkAge(ReleaseFile release, String what) {
        Duration max = limits.maxReleaseAge();
        if (max != null && release.date().isBefore(clock.instant().minus(max))) {
            throw new DebianException(what + ": the Release is dated " + release.date() + ", older than " + max
                    + " (kiln.archive.max-release-age): the mirror may have stopped updating (a freeze); refusing it");
        }
    }

    /**
     * Refuses a Release dated before the newest accepted for its suite, remembered or in a lock: a
     * mirror replaying an old, validly signed Release (a rollback) would otherwise bring back packages
     * with known holes. With a re-base it is accepted; the date it replaced is returned.
     */
    private Instant checkRollback(String url, String suite, Instant date, Freshness freshness, String what) {
        Instant remembered = memory.newest(url, suite).orElse(null);
        Freshness.Floor locked = freshness.floors().get(Freshness.key(url, suite));
        Instant floor = null;
        String source = null;
        if (remembered != null && date.isBefore(remembered)) {
            floor = remembered;
            source = "remembered in " + memory.where();
        }
        if (locked != null && date.isBefore(locked.date()) && (floor == null || locked.date().isAfter(floor))) {
            floor = locked.date();
            source = "used by " + locked.source();
        }
        if (floor == null) {
            return null;
        }
        if (freshness.rebase() == null) {
            throw new Rollback(what + ": the InRelease is dated " + date + ", before " + floor
                    + ", the newest Release Kiln accepted for this suite (" + source + "): an old Release served again"
                    + " (a rollback); refusing it. If the archive was re-based on purpose (a snapshot mirror), " + memory.rebaseHint());
        }
        return floor;
    }

    private void remember(List<SuiteRelease> releases, List<Rebased> rebased, Freshness freshness) {
        for (SuiteRelease r : releases) {
            Rebased back = rebased.stream().filter(b -> b.archiveUrl().equals(r.archiveUrl()) && b.suite().equals(r.suite()))
                    .findFirst().orElse(null);
            if (back == null) {
                memory.accepted(r.archiveUrl(), r.suite(), r.date());
            } else {
                memory.rebased(r.archiveUrl(), r.suite(), back.from(), back.to(), freshness.rebase().who(), freshness.rebase().why());
            }
        }
    }

    /** An index to read: the compressed file to download and, when the Release lists it, the plain one to cache. */
    private static final java.util.concurrent.ExecutorService POOL = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "kiln-archive");
        t.setDaemon(true);
        return t;
    });

    private record Snapshot(Path file, PackageIndex index) {
    }

    /** The most recently written snapshot of this shape, read and checked; null when there is none. */
    private Snapshot newestSnapshot(String shapePrefix) {
        try (java.util.stream.Stream<Path> files = Files.exists(indexCache) ? Files.list(indexCache) : java.util.stream.Stream.empty()) {
            Optional<Path> newest = files.filter(p -> p.getFileName().toString().startsWith(shapePrefix))
                    .max(java.util.Comparator.comparing(p -> p.toFile().lastModified()));
            return newest.flatMap(p -> IndexSnapshot.read(p).map(i -> new Snapshot(p, i))).orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** The value of a future, with a DebianException (or other runtime error) from it rethrown as itself. */
    private static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** Best effort: a snapshot that cannot be written only costs the next run a parse. Older ones of the same shape go. */
    private void saveSnapshot(Path file, String shapePrefix, PackageIndex index) {
        try {
            Files.createDirectories(indexCache);
            IndexSnapshot.write(file, index);
            try (java.util.stream.Stream<Path> old = Files.list(indexCache)) {
                for (Path p : old.toList()) {
                    String name = p.getFileName().toString();
                    if (name.startsWith(shapePrefix) && !p.equals(file)) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        } catch (IOException e) {
            deleteQuietly(file);
        }
    }

    /** A cache file: named only by a hash the Release signed and Kiln checked is one, so always inside the cache. */
    private Path cacheFile(String sha256) {
        if (!Names.isSha256(sha256)) {
            throw new IllegalStateException("not a SHA-256: " + Names.quote(sha256));
        }
        return indexCache.resolve(sha256);
    }

    private static String hex(String text) {
        return HexFormat.of().formatHex(sha256().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /**
     * One Packages index of a Release. {@code candidates} are its compressed forms in order of
     * preference; with no plain entry (its content hash) only the first can be used.
     */
    private record IndexFile(PackageRecord.Origin origin, List<ReleaseFile.Entry> candidates, ReleaseFile.Entry plain,
                             boolean byHash, String what) {
        IndexFile {
            candidates = List.copyOf(plain == null ? candidates.subList(0, 1) : candidates);
        }

        ReleaseFile.Entry compressed() {
            return candidates.get(0);
        }

        /** The hash that identifies this index's content. */
        String sha256() {
            return plain != null ? plain.sha256() : compressed().sha256();
        }
    }

    private IndexFile indexFile(String url, String suite, String component, String arch, ReleaseFile release, String what) {
        String base = component + "/binary-" + arch + "/Packages";
        for (String ext : COMPRESSIONS) {
            ReleaseFile.Entry entry = release.sha256().get(base + ext);
            if (entry != null && entry.size() > limits.maxIndexBytes()) {
                throw new DebianException(what + ": the Release gives " + entry.path() + " as " + entry.size() + " bytes, more than "
                        + limits.maxIndexBytes() + " (kiln.archive.max-index-bytes); refusing it");
            }
        }
        ReleaseFile.Entry plain = release.sha256().get(base);
        List<ReleaseFile.Entry> candidates = new ArrayList<>();
        for (String ext : COMPRESSIONS) {
            ReleaseFile.Entry entry = release.sha256().get(base + ext);
            if (entry != null && !ext.isEmpty()) {
                candidates.add(entry);
            }
        }
        if (!candidates.isEmpty()) {
            return new IndexFile(new PackageRecord.Origin(url, suite, component), candidates, plain, release.acquireByHash(), what);
        }
        if (plain != null) {
            return new IndexFile(new PackageRecord.Origin(url, suite, component), List.of(plain), null, release.acquireByHash(), what);
        }
        throw new DebianException(what + ": the Release lists no " + base + " index (is '" + component
                + "' a component of this suite, and '" + arch + "' one of its architectures?)");
    }

    /**
     * Parses one index, from the cache when a copy is there, else from the archive: the first form the
     * mirror has, each compression in order of preference, each by hash first and then by name (apt
     * too falls back to the name when by-hash is missing, and partial mirrors may lack a form the
     * Release lists). The index is cached as downloaded, under its hash; every read, cached or not, is
     * checked against the signed Release, so the cache is never trusted more than the archive.
     */
    private void parse(IndexFile f, PackageIndex.Builder builder) {
        for (ReleaseFile.Entry candidate : f.candidates()) {
            Path cached = cacheFile(candidate.sha256());
            if (Files.exists(cached)) {
                try (InputStream in = Files.newInputStream(cached)) {
                    read(f, candidate, in, null, builder, f.what() + ": cached " + candidate.path());
                } catch (DebianException e) {
                    deleteQuietly(cached);
                    throw new DebianException(e.getMessage() + "; removed it, run again", e);
                } catch (IOException e) {
                    throw new DebianException(f.what() + ": cannot read " + cached + ": " + e.getMessage(), e);
                }
                return;
            }
        }
        String dir = f.origin().archiveUrl() + "/dists/" + f.origin().suite() + "/";
        List<String> missing = new ArrayList<>();
        for (ReleaseFile.Entry candidate : f.candidates()) {
            String path = candidate.path();
            List<String> urls = new ArrayList<>();
            if (f.byHash()) {
                urls.add(dir + path.substring(0, path.lastIndexOf('/') + 1) + "by-hash/SHA256/" + candidate.sha256());
            }
            urls.add(dir + path);
            for (String url : urls) {
                InputStream response;
                try {
                    response = send(url);
                } catch (NotFound e) {
                    missing.add(e.getMessage());
                    continue;
                }
                String what = f.what() + ": " + path + " (from " + mirrored(url) + ")";
                try {
                    Files.createDirectories(indexCache);
                    Path tmp = Files.createTempFile(indexCache, ".part-", "");
                    try {
                        try (InputStream body = response; OutputStream copy = Files.newOutputStream(tmp)) {
                            read(f, candidate, body, copy, builder, what);
                        }
                        Files.move(tmp, cacheFile(candidate.sha256()), StandardCopyOption.ATOMIC_MOVE,
                                StandardCopyOption.REPLACE_EXISTING);
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                } catch (IOException e) {
                    throw new DebianException(what + ": cannot store " + indexCache + ": " + e.getMessage(), e);
                }
                return;
            }
        }
        throw new DebianException(f.what() + ": " + f.compressed().path() + " not found at " + String.join(", ", missing));
    }

    /**
     * Reads one index form from {@code raw} (copying it to {@code copy} when given) and parses it. Two
     * threads, because a cold index is two jobs of about equal size: this one parses while a second
     * hashes and decompresses. The hashes are checked at the end of the stream, and a
     * mismatch wins over any parse or decompression error it caused; either way the caller keeps nothing.
     */
    private void read(IndexFile f, ReleaseFile.Entry form, InputStream raw, OutputStream copy, PackageIndex.Builder builder,
                      String what) {
        Pipe pipe = new Pipe();
        CompletableFuture<Void> inflating = CompletableFuture.runAsync(() -> inflate(f, form, raw, copy, pipe, what), POOL);
        try {
            new PackagesParser(f.origin()).parse(pipe, builder);
        } catch (Pipe.Failed e) {
            // the inflating side's own exception: join throws it
        } catch (IOException e) {
            pipe.abandon();
            join(inflating); // a hash mismatch explains a parse error: report it instead
            throw new DebianException(what + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            pipe.abandon();
            throw e;
        }
        join(inflating);
    }

    private void inflate(IndexFile f, ReleaseFile.Entry form, InputStream raw, OutputStream copy, Pipe pipe, String what) {
        MessageDigest compressedSha = sha256();
        long plainSize = 0;
        // the decompressed size the Release vouches for, or the configured cap: a bomb stops at the first byte over
        long plainLimit = f.plain() != null ? f.plain().size() : limits.maxIndexBytes();
        boolean overflow = false;
        Counting counted = new Counting(new DigestInputStream(raw, compressedSha), copy, form.size());
        String broken = null;
        // closing the decompressor must not close the download: after a decompression error the rest is still read and hashed
        InputStream unclosed = new FilterInputStream(counted) {
            @Override
            public void close() {
            }
        };
        try (InputStream plain = decompress(new BufferedInputStream(unclosed, 1 << 16), form.path())) {
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = plain.readNBytes(chunk, 0, (int) Math.min(chunk.length, plainLimit + 1 - plainSize))) > 0) {
                plainSize += n;
                if (plainSize > plainLimit) {
                    overflow = true;
                    break;
                }
                pipe.put(chunk, n);
            }
            counted.transferTo(OutputStream.nullOutputStream()); // hash whatever follows the compressed stream too
        } catch (IOException e) {
            broken = e instanceof MemoryLimitException m
                    ? "its xz dictionary needs " + m.getMemoryNeeded() / 1024 + " MiB of memory, more than the " + XZ_MEMORY_KIB / 1024
                    + " MiB Kiln allows an index" : e.getMessage();
            try {
                if (counted.transport == null) {
                    counted.transferTo(OutputStream.nullOutputStream());
                }
            } catch (IOException ignored) {
                // reported below as the broken stream it is
            }
        }
        boolean tooLong = counted.count > form.size();
        String actual = HexFormat.of().formatHex(compressedSha.digest());
        DebianException failure = null;
        if (counted.transport != null) {
            failure = new DebianException(what + ": download failed after " + counted.count + " of " + form.size() + " bytes: "
                    + describe(counted.transport) + "; nothing was kept");
        } else if (counted.count != form.size() || !actual.equals(form.sha256())) {
            failure = new DebianException(what + ": got " + (tooLong ? "more than " + form.size() : counted.count)
                    + " bytes" + (tooLong ? "" : " with SHA-256 " + actual) + ", expected " + form.size()
                    + " bytes with SHA-256 " + form.sha256() + "; nothing was kept");
        } else if (overflow) {
            failure = new DebianException(what + " decompresses to more than " + plainLimit + " bytes, "
                    + (f.plain() != null ? "the size the Release gives" : "kiln.archive.max-index-bytes") + "; stopped there, nothing was kept");
        } else if (broken != null) {
            failure = new DebianException(what + ": cannot decompress: " + broken);
        } else if (f.plain() != null && form != f.plain() && plainSize != f.plain().size()) {
            // the verified compressed bytes fix the content; the size catches a decompressor gone wrong
            failure = new DebianException(what + " decompresses to " + plainSize + " bytes, expected " + f.plain().size()
                    + "; nothing was kept");
        }
        if (failure != null) {
            pipe.fail(failure);
            throw failure;
        }
        pipe.end();
    }

    /** Counts (and optionally copies) what is read; stops a stream as soon as it runs past the size the Release gives. */
    private static final class Counting extends FilterInputStream {
        private final OutputStream copy;
        private final long limit;
        long count;
        /** What the network (not the decompressor) failed with. */
        IOException transport;

        Counting(InputStream in, OutputStream copy, long expected) {
            super(in);
            this.copy = copy;
            this.limit = expected;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (count > limit) {
                return -1;
            }
            int n;
            try {
                n = super.read(buf, off, (int) Math.min(len, limit + 1 - count));
            } catch (IOException e) {
                transport = e;
                throw e;
            }
            if (n > 0) {
                if (copy != null) {
                    copy.write(buf, off, n);
                }
                count += n;
            }
            return n;
        }
    }

    /** Hands decompressed chunks from the inflating thread to the parsing one. */
    private static final class Pipe extends InputStream {
        /** The inflating side failed; its own exception says why. */
        static final class Failed extends IOException {
            Failed(Throwable cause) {
                super(cause.getMessage(), cause);
            }
        }

        private static final byte[] END = new byte[0];
        private final java.util.concurrent.BlockingQueue<byte[]> chunks = new java.util.concurrent.ArrayBlockingQueue<>(64);
        private volatile boolean abandoned;
        private volatile Throwable failure;
        private byte[] chunk;
        private int pos;
        private boolean done;

        void put(byte[] bytes, int n) {
            if (!abandoned) {
                offer(Arrays.copyOf(bytes, n));
            }
        }

        void end() {
            if (!abandoned) {
                offer(END);
            }
        }

        void fail(Throwable t) {
            failure = t;
            end();
        }

        /** The parser gave up: the inflating side still reads to the end (to check the hashes) but keeps nothing. */
        void abandon() {
            abandoned = true;
            chunks.clear();
        }

        private void offer(byte[] bytes) {
            try {
                while (!chunks.offer(bytes, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    if (abandoned) {
                        return;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DebianException("interrupted while reading an index", e);
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (chunk == null || pos == chunk.length) {
                if (done) {
                    return -1;
                }
                try {
                    chunk = chunks.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while parsing an index");
                }
                pos = 0;
                if (chunk == END) {
                    done = true;
                    if (failure != null) {
                        throw new Failed(failure);
                    }
                }
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk, pos, buf, off, n);
            pos += n;
            return n;
        }
    }

    /** Downloads a file the Release or a lock names; a 404 says the version left the archive. */
    void download(String url, long size, String sha256, Path target, String what) {
        try {
            fetch(url, size, sha256, target, what);
        } catch (NotFound e) {
            throw new DebianException(what + ": not in the archive (any more) at " + e.getMessage()
                    + "; the archive may have replaced this version: lock again to re-resolve");
        }
    }

    /** Downloads and verifies; a 404 escapes as {@link NotFound} for the caller to try elsewhere. */
    private void fetch(String url, long size, String sha256, Path target, String what) {
        String from = what + " (from " + mirrored(url) + ")";
        Path tmp;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), ".part-", "");
        } catch (IOException e) {
            throw new DebianException(what + ": cannot store " + target + ": " + e.getMessage(), e);
        }
        try {
            try (InputStream body = send(url)) {
                store(body, size, sha256, tmp, from);
            } catch (IOException e) {
                throw new DebianException(what + ": download from " + mirrored(url) + " failed: " + describe(e), e);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DebianException(what + ": cannot store " + target + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover .part- file is never read: only hash-named files are
            }
        }
    }

    /**
     * Copies {@code in} to {@code tmp} and checks it has exactly this size and SHA-256. Reading stops at
     * the first byte past the size: an endless body costs one byte more than the package, not a full disk.
     */
    private static void store(InputStream in, long size, String sha256, Path tmp, String what) throws IOException {
        MessageDigest sha = sha256();
        long n = 0;
        try (OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 16];
            int r;
            while (n <= size && (r = in.read(buf, 0, (int) Math.min(buf.length, size + 1 - n))) >= 0) {
                sha.update(buf, 0, r);
                out.write(buf, 0, r);
                n += r;
            }
        }
        if (n > size) {
            throw new DebianException(what + ": got more than " + size + " bytes, expected " + size + " bytes with SHA-256 " + sha256
                    + "; stopped at the first byte over, nothing was kept");
        }
        String actual = HexFormat.of().formatHex(sha.digest());
        if (n != size || !actual.equals(sha256)) {
            throw new DebianException(what + ": got " + n + " bytes with SHA-256 " + actual
                    + ", expected " + size + " bytes with SHA-256 " + sha256 + "; nothing was kept");
        }
    }

    /** An InRelease's bytes, and whether they were kept from an earlier fetch (within inReleaseReuse) rather than fetched now. */
    private record Got(byte[] body, boolean reused) {
    }

    private Got fetchInRelease(String archiveUrl, String suite, String what) {
        String url = archiveUrl + "/dists/" + suite + "/InRelease";
        if (inReleaseReuse.isZero()) {
            return new Got(downloadInRelease(url, suite, what), false);
        }
        java.time.Instant now = clock.instant();
        boolean[] downloaded = {false};
        // compute: concurrent loads of the same suite wait for one download instead of each fetching
        Fetched f = inReleases.compute(url, (u, old) -> {
            if (old != null && old.at().plus(inReleaseReuse).isAfter(now)) {
                return old;
            }
            downloaded[0] = true;
            return new Fetched(downloadInRelease(url, suite, what), now);
        });
        return new Got(f.body(), !downloaded[0]);
    }

    /** Fetches the InRelease now, whatever was kept: the kept one is older than what the cluster accepted since. */
    private Got refetchInRelease(String archiveUrl, String suite, String what) {
        inReleases.remove(archiveUrl + "/dists/" + suite + "/InRelease");
        return fetchInRelease(archiveUrl, suite, what);
    }

    /** The InRelease, read up to its cap: one byte over and it is refused without reading on. */
    private byte[] downloadInRelease(String url, String suite, String what) {
        try (InputStream body = send(url)) {
            byte[] bytes = body.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limits.maxInReleaseBytes() + 1));
            if (bytes.length > limits.maxInReleaseBytes()) {
                throw new DebianException(what + ": the InRelease at " + mirrored(url) + " is larger than " + limits.maxInReleaseBytes()
                        + " bytes (kiln.archive.max-in-release-bytes); refusing it");
            }
            return bytes;
        } catch (NotFound e) {
            throw new DebianException(what + ": no InRelease at " + e.getMessage() + " (is '" + suite + "' a suite of this archive?)");
        } catch (IOException e) {
            throw new DebianException(what + ": cannot read " + mirrored(url) + ": " + describe(e), e);
        }
    }

    private static final class NotFound extends RuntimeException {
        NotFound(String url) {
            super(url, null, false, false);
        }
    }

    /**
     * The body of a 200 answer, read under the read and transfer timeouts; a 404 or 410 escapes as
     * {@link NotFound}. The request timeout covers the wait for the headers.
     */
    private InputStream send(String originalUrl) {
        String url = mirrored(originalUrl);
        TimedBody body = new TimedBody(url, limits.readTimeout(), limits.transferTimeout());
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(limits.readTimeout()).GET().build();
            HttpResponse<java.util.concurrent.Flow.Publisher<List<java.nio.ByteBuffer>>> response =
                    http.send(request, HttpResponse.BodyHandlers.ofPublisher());
            response.body().subscribe(body);
            if (response.statusCode() == 404 || response.statusCode() == 410) {
                body.close();
                throw new NotFound(url);
            }
            if (response.statusCode() != 200) {
                body.close();
                int status = response.statusCode();
                // the client follows a few redirects (never https to http); what is left is a loop or a downgrade
                throw new DebianException("GET " + url + " answered HTTP " + status + (status / 100 != 3 ? ""
                        : ", a redirect left unfollowed (" + response.headers().firstValue("Location").map(l -> "to " + Names.quote(l) + ": ")
                        .orElse("") + "more than 5 in a row, or from https to http)"));
            }
            return body;
        } catch (IOException e) {
            body.close();
            throw new DebianException("GET " + url + " failed: " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DebianException("GET " + url + " interrupted", e);
        }
    }

    /**
     * Why a transfer failed, in words: the JDK's client often throws a ConnectException with no message
     * at all ("failed: null"), so the cause chain is searched for what happened.
     */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.http.HttpConnectTimeoutException) {
                return "timed out connecting";
            }
            if (t instanceof java.net.http.HttpTimeoutException) {
                return "timed out waiting for the response (kiln.archive.read-timeout)";
            }
            if (t instanceof java.net.SocketTimeoutException && t.getMessage() != null) {
                return t.getMessage();
            }
            if (t instanceof java.nio.channels.UnresolvedAddressException || t instanceof java.net.UnknownHostException) {
                return "unknown host" + (t.getMessage() == null ? "" : " " + t.getMessage());
            }
            if (t instanceof java.net.ConnectException) {
                return "connection refused" + (t.getMessage() == null || t.getMessage().equalsIgnoreCase("connection refused") ? "" : " (" + t.getMessage() + ")");
            }
            if (t instanceof javax.net.ssl.SSLException) {
                return "TLS failed: " + t.getMessage();
            }
            if (t instanceof java.io.EOFException || t instanceof java.nio.channels.ClosedChannelException) {
                return "the connection closed early" + (t.getMessage() == null ? "" : " (" + t.getMessage() + ")");
            }
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                return t.getMessage();
            }
        }
        return e.getClass().getSimpleName();
    }

    String mirrored(String url) {
        for (Map.Entry<String, String> m : mirrors.entrySet()) {
            String from = m.getKey().endsWith("/") ? m.getKey() : m.getKey() + "/";
            if (url.startsWith(from)) {
                String to = m.getValue().endsWith("/") ? m.getValue() : m.getValue() + "/";
                return to + url.substring(from.length());
            }
        }
        return url;
    }

    private static InputStream decompress(InputStream in, String path) throws IOException {
        if (path.endsWith(".xz")) {
            // every block's dictionary from one cache: each block would otherwise allocate and zero its own, so a
            // mirror's stream of thousands of tiny blocks cost that thousands of times before the hash is checked
            return new XZInputStream(in, XZ_MEMORY_KIB, true, new BasicArrayCache());
        }
        if (path.endsWith(".gz")) {
            return new GZIPInputStream(in, 1 << 16);
        }
        return in;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
