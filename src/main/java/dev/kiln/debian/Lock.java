package dev.kiln.debian;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A stack resolved to exact packages: what {@code kiln lock} writes to {@code <stack>.lock.json} and what
 * a build reads. It holds nothing that changes when the inputs do not (no timestamp of its own), so an
 * unchanged archive re-locks to the same bytes.
 *
 * <p>A single-architecture lock (version 1) names its {@code architecture} and lists its
 * {@code packages}. A lock for several architectures (version 2) names them in {@code architectures};
 * its {@code packages} are the ones every architecture shares ({@code Architecture: all}, the same
 * .deb in each) and each of its {@code platforms} lists the rest of one architecture's set. One set of
 * {@code releases} serves them all: each suite's one signed Release lists every architecture's index.
 * {@link #forArchitecture} gives one architecture's set as a single-architecture lock, which is what an
 * image is built from.
 */
public record Lock(int lockVersion, String stack, String stackDigest,
                   @JsonInclude(JsonInclude.Include.NON_NULL) String architecture,
                   @JsonInclude(JsonInclude.Include.NON_NULL) List<String> architectures,
                   List<Release> releases, List<Package> packages, List<Dropped> dropped,
                   @JsonInclude(JsonInclude.Include.NON_NULL) List<Platform> platforms) {

    public static final int VERSION = 1;
    /** The version of a lock for several architectures; a Kiln that knows only version 1 refuses it by name. */
    public static final int MULTI_ARCHITECTURE_VERSION = 2;

    public Lock {
        architectures = architectures == null ? null : List.copyOf(architectures);
        releases = List.copyOf(releases);
        packages = List.copyOf(packages);
        dropped = List.copyOf(dropped);
        platforms = platforms == null ? null : List.copyOf(platforms);
    }

    /** A single-architecture lock. */
    public Lock(int lockVersion, String stack, String stackDigest, String architecture, List<Release> releases, List<Package> packages,
                List<Dropped> dropped) {
        this(lockVersion, stack, stackDigest, architecture, null, releases, packages, dropped, null);
    }

    /** One architecture's own packages and dropped dependencies in a lock for several: its set is these plus the shared ones. */
    public record Platform(String architecture, List<Package> packages, List<Dropped> dropped) {
        public Platform {
            packages = List.copyOf(packages);
            dropped = List.copyOf(dropped);
        }
    }

    /** Whether this lock is for several architectures (and so its image is an index). */
    public boolean multiArchitecture() {
        return platforms != null;
    }

    /** The architectures this lock is for, in the stack's order. */
    public List<String> builtFor() {
        return multiArchitecture() ? architectures : List.of(architecture);
    }

    /**
     * One architecture's package set as a single-architecture lock (the shared packages and its own,
     * by name): what its platform image is built from and described by. A single-architecture lock is
     * its own.
     */
    public Lock forArchitecture(String arch) {
        if (!multiArchitecture()) {
            if (!architecture.equals(arch)) {
                throw new IllegalArgumentException(stack + "'s lock is for " + architecture + ", not " + arch);
            }
            return this;
        }
        Platform platform = platforms.stream().filter(p -> p.architecture().equals(arch)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(stack + "'s lock is for " + architectures + ", not " + arch));
        List<Package> all = new ArrayList<>(packages);
        all.addAll(platform.packages());
        all.sort(Comparator.comparing(Package::name));
        List<Dropped> drops = new ArrayList<>(dropped);
        drops.addAll(platform.dropped());
        return new Lock(VERSION, stack, stackDigest, arch, releases, all, drops);
    }

    /**
     * Every distinct .deb of the lock, each once: for a lock of several architectures the shared
     * packages and each platform's own (a package name may then appear once per architecture).
     */
    public List<Package> allPackages() {
        if (!multiArchitecture()) {
            return packages;
        }
        List<Package> all = new ArrayList<>(packages);
        platforms.forEach(p -> all.addAll(p.packages()));
        return all;
    }

    /**
     * The lock for several architectures made of one single-architecture lock per architecture (in
     * the stack's order), resolved from the same Releases. A package every architecture has as the same
     * entry (an {@code Architecture: all} .deb, wanted by the same package) is listed once, shared; a
     * dependency every architecture dropped likewise. One lock alone stays a single-architecture lock.
     */
    public static Lock combine(List<Lock> perArchitecture) {
        if (perArchitecture.size() == 1) {
            return perArchitecture.get(0);
        }
        Lock first = perArchitecture.get(0);
        for (Lock l : perArchitecture) {
            if (l.multiArchitecture() || !l.releases().equals(first.releases()) || !l.stackDigest().equals(first.stackDigest())) {
                throw new IllegalArgumentException("locks of one stack from the same Releases expected");
            }
        }
        List<Package> shared = first.packages().stream().filter(p -> "all".equals(p.architecture()))
                .filter(p -> perArchitecture.stream().allMatch(l -> l.packages().contains(p))).toList();
        List<Dropped> sharedDrops = first.dropped().stream().filter(d -> perArchitecture.stream().allMatch(l -> l.dropped().contains(d)))
                .distinct().toList();
        List<Platform> platforms = new ArrayList<>();
        for (Lock l : perArchitecture) {
            platforms.add(new Platform(l.architecture(), l.packages().stream().filter(p -> !shared.contains(p)).toList(),
                    l.dropped().stream().filter(d -> !sharedDrops.contains(d)).toList()));
        }
        return new Lock(MULTI_ARCHITECTURE_VERSION, first.stack(), first.stackDigest(), null,
                perArchitecture.stream().map(Lock::architecture).toList(), first.releases(), shared, sharedDrops, platforms);
    }

    /** Whether two locks hold the same packages for the same architectures (what "locking now would change nothing" means). */
    public boolean samePackages(Lock other) {
        return other != null && builtFor().equals(other.builtFor()) && packages.equals(other.packages())
                && Objects.equals(platforms == null ? null : platforms.stream().map(Platform::packages).toList(),
                other.platforms() == null ? null : other.platforms().stream().map(Platform::packages).toList());
    }

    /**
     * A Release used for the resolution; dates are ISO-8601 instants. {@code origin} (the Release's Origin)
     * and {@code inReleaseSha256} (the signed InRelease as fetched) are null in locks written before Kiln
     * recorded them.
     */
    public record Release(String url, String suite, String codename, String version, String date, String validUntil,
                          String origin, String inReleaseSha256) {

        /** The {@code dists/SUITE/InRelease} this Release was read from (at the archive's own URL, not a mirror's). */
        public String inReleaseUrl() {
            return url + "/dists/" + suite + "/InRelease";
        }
    }

    /**
     * One package, pinned by version and SHA-256; {@code url} is the archive's own, not a mirror's.
     * {@code wantedBy} names the package whose dependency pulled it in (null: the stack asked for it).
     * A companion (see {@link Companions}) also has {@code reason}, why Kiln added it although nothing
     * depends on it, and {@code only}, the paths of it the image keeps; both are absent otherwise.
     */
    public record Package(String name, String version, String architecture, String suite, String url, long size,
                          String sha256, String wantedBy,
                          @JsonInclude(JsonInclude.Include.NON_NULL) String reason,
                          @JsonInclude(JsonInclude.Include.NON_NULL) List<String> only) {

        public Package {
            only = only == null ? null : List.copyOf(only);
        }

        /** A package kept whole. */
        public Package(String name, String version, String architecture, String suite, String url, long size, String sha256,
                       String wantedBy) {
            this(name, version, architecture, suite, url, size, sha256, wantedBy, null, null);
        }
    }

    /** A dependency left out because the stack excludes every package that could satisfy it. */
    public record Dropped(String wantedBy, String dependency) {
    }

    /**
     * The digest of what a build is made from: the stack definition's digest and every package's name,
     * version, architecture, SHA-256 and, when the image keeps only part of it, those paths; for a lock
     * of several architectures, each architecture's set in turn. Release dates are left out: they change
     * daily when nothing else does.
     */
    public String digest() {
        StringBuilder text = new StringBuilder(stackDigest).append('\n');
        if (multiArchitecture()) {
            for (String arch : architectures) {
                text.append("platform ").append(arch).append('\n');
                lines(forArchitecture(arch).packages(), text);
            }
        } else {
            lines(packages, text);
        }
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "sha256:" + java.util.HexFormat.of().formatHex(hash);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void lines(List<Package> packages, StringBuilder text) {
        packages.stream().sorted(Comparator.comparing(Package::name))
                .forEach(p -> text.append(p.name()).append(' ').append(p.version()).append(' ').append(p.architecture())
                        .append(' ').append(p.sha256()).append(p.only() == null ? "" : " only " + String.join(" ", p.only())).append('\n'));
    }

    /** A package whose version changed between two locks; {@code from} or {@code to} is null when it came or went. */
    public record Change(String name, String from, String to) {
        @Override
        public String toString() {
            return from == null ? "+ " + name + " " + to : to == null ? "- " + name + " " + from : "~ " + name + " " + from + " -> " + to;
        }
    }

    /**
     * What changed from {@code before} (null: nothing before) to this lock, by package name. A change the
     * same on every architecture either lock is for is named by the package alone ({@code ~ tzdata
     * 2025b-4 -> 2026a-1}); one that differs is named per architecture, as dpkg writes it ({@code + libc6:arm64
     * 2.41-12}, when a lock gains arm64).
     */
    public List<Change> changesSince(Lock before) {
        if (before == null) {
            return List.of();
        }
        TreeSet<String> archs = new TreeSet<>(builtFor());
        archs.addAll(before.builtFor());
        List<String> order = new ArrayList<>(builtFor());
        before.builtFor().stream().filter(a -> !order.contains(a)).forEach(order::add);
        Map<String, Map<String, String>> now = versions(this, order);
        Map<String, Map<String, String>> old = versions(before, order);
        TreeSet<String> names = new TreeSet<>();
        now.values().forEach(m -> names.addAll(m.keySet()));
        old.values().forEach(m -> names.addAll(m.keySet()));
        List<Change> updated = new ArrayList<>();
        List<Change> removed = new ArrayList<>();
        for (String name : names) {
            Map<String, Change> byArch = new LinkedHashMap<>();
            for (String arch : order) {
                String was = old.get(arch).get(name);
                String is = now.get(arch).get(name);
                if (!Objects.equals(was, is)) {
                    byArch.put(arch, new Change(name, was, is));
                }
            }
            if (byArch.isEmpty()) {
                continue;
            }
            boolean everywhere = byArch.size() == order.size() && byArch.values().stream().distinct().count() == 1;
            List<Change> changes = everywhere ? List.of(byArch.values().iterator().next())
                    : byArch.entrySet().stream().map(e -> new Change(name + ":" + e.getKey(), e.getValue().from(), e.getValue().to())).toList();
            changes.forEach(c -> (c.to() == null ? removed : updated).add(c));
        }
        List<Change> changes = new ArrayList<>(updated);
        changes.addAll(removed);
        return changes;
    }

    /** Each architecture's package versions by name (empty for an architecture the lock is not for). */
    private static Map<String, Map<String, String>> versions(Lock lock, List<String> archs) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (String arch : archs) {
            Map<String, String> versions = new TreeMap<>();
            if (lock.builtFor().contains(arch)) {
                lock.forArchitecture(arch).packages().forEach(p -> versions.put(p.name(), p.version()));
            }
            out.put(arch, versions);
        }
        return out;
    }

    /**
     * What is wrong with the names, URLs and hashes of this lock, one line per field ({@code
     * packages[3].url: ...}); empty when nothing. They come from an archive's index or a file anyone
     * can edit, and become URLs and cache paths, so they must have exactly the shape Debian gives them.
     */
    public List<String> problems() {
        List<String> problems = new java.util.ArrayList<>();
        if (multiArchitecture()) {
            if (architecture != null) {
                problems.add("architecture: a lock for several architectures names them in 'architectures'");
            }
            List<String> named = platforms.stream().map(Platform::architecture).toList();
            if (architectures == null || !architectures.equals(named) || architectures.size() < 2
                    || new TreeSet<>(architectures).size() != architectures.size()) {
                problems.add("architectures: " + architectures + " must name each of the platforms " + named + " once, in order");
            }
            for (int k = 0; k < platforms.size(); k++) {
                Platform platform = platforms.get(k);
                if (!Names.isArchitecture(platform.architecture())) {
                    problems.add("platforms[" + k + "].architecture: " + quoted(platform.architecture()) + " is not a Debian architecture");
                }
                packageProblems(platform.packages(), "platforms[" + k + "].packages", platform.architecture(), problems);
            }
            packageProblems(packages, "packages", "all", problems);
        } else {
            if (architectures != null) {
                problems.add("architectures: a lock for one architecture names it in 'architecture'");
            }
            if (!Names.isArchitecture(architecture)) {
                problems.add("architecture: " + quoted(architecture) + " is not a Debian architecture");
            }
            packageProblems(packages, "packages", null, problems);
        }
        for (int i = 0; i < releases.size(); i++) {
            Release r = releases.get(i);
            String at = "releases[" + i + "]";
            String badUrl = urlProblem(r.url(), false);
            if (badUrl != null) {
                problems.add(at + ".url: " + quoted(r.url()) + " " + badUrl);
            }
            if (!Names.isSuite(r.suite())) {
                problems.add(at + ".suite: " + quoted(r.suite()) + " is not a suite name");
            }
            try {
                java.time.Instant.parse(r.date());
            } catch (RuntimeException e) {
                problems.add(at + ".date: " + quoted(r.date()) + " is not an ISO-8601 instant");
            }
        }
        return problems;
    }

    /**
     * @param architecture the architecture each package must be for ({@code all} for the shared ones, a
     *                     platform's own or {@code all} for a platform's), or null for any
     */
    private static void packageProblems(List<Package> packages, String list, String architecture, List<String> problems) {
        for (int i = 0; i < packages.size(); i++) {
            Package p = packages.get(i);
            String at = list + "[" + i + "]";
            if (!Names.isPackage(p.name())) {
                problems.add(at + ".name: " + quoted(p.name()) + " is not a Debian package name");
            }
            String badVersion = p.version() == null ? "missing" : versionProblem(p.version());
            if (badVersion != null) {
                problems.add(at + ".version: " + quoted(p.version()) + ": " + badVersion);
            }
            if (!Names.isArchitecture(p.architecture())) {
                problems.add(at + ".architecture: " + quoted(p.architecture()) + " is not a Debian architecture");
            } else if (architecture != null && !p.architecture().equals(architecture) && !p.architecture().equals("all")) {
                problems.add(at + ".architecture: " + quoted(p.architecture()) + " in a list for " + architecture);
            }
            if (!Names.isSuite(p.suite())) {
                problems.add(at + ".suite: " + quoted(p.suite()) + " is not a suite name");
            }
            String badUrl = urlProblem(p.url(), true);
            if (badUrl != null) {
                problems.add(at + ".url: " + quoted(p.url()) + " " + badUrl);
            }
            if (p.size() < 0) {
                problems.add(at + ".size: " + p.size() + " is not a size");
            }
            if (!Names.isSha256(p.sha256())) {
                problems.add(at + ".sha256: " + quoted(p.sha256()) + " is not a SHA-256 (64 lower-case hex digits)");
            }
            if (p.wantedBy() != null && !Names.isPackage(p.wantedBy())) {
                problems.add(at + ".wantedBy: " + quoted(p.wantedBy()) + " is not a Debian package name");
            }
        }
    }

    private static String quoted(String s) {
        return s == null ? "null" : Names.quote(s);
    }

    private static String versionProblem(String version) {
        byte[] b = version.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return DebianVersion.problem(b, 0, b.length);
    }

    /** Why a URL is not an http(s) archive URL (a package's: ending in a pool path), or null. */
    private static String urlProblem(String url, boolean file) {
        if (url == null) {
            return "is missing";
        }
        java.net.URI u;
        try {
            u = new java.net.URI(url);
        } catch (java.net.URISyntaxException e) {
            return "is not a URL";
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null || u.getRawUserInfo() != null
                || u.getRawQuery() != null || u.getRawFragment() != null) {
            return "is not an http:// or https:// URL without user, query or fragment";
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath().replaceFirst("^/", "");
        if (file ? !Names.isPoolPath(path) : !path.isEmpty() && !Names.isPoolPath(path)) {
            return "has a path with '.', '..', empty or unexpected segments";
        }
        return null;
    }

    public static Lock of(String stack, String stackDigest, String architecture, DebianArchive.Loaded loaded,
                   PackageResolver.Resolution resolution) {
        return of(stack, stackDigest, architecture, loaded, resolution, java.util.Map.of());
    }

    /** The lock of a resolution, with the companions Kiln added to it by name. */
    public static Lock of(String stack, String stackDigest, String architecture, DebianArchive.Loaded loaded,
                   PackageResolver.Resolution resolution, java.util.Map<String, Companions.Companion> companions) {
        List<Release> releases = loaded.releases().stream()
                .map(r -> new Release(r.archiveUrl(), r.suite(), r.codename(), r.version(), r.date().toString(),
                        r.validUntil() == null ? null : r.validUntil().toString(), r.origin(), r.inReleaseSha256()))
                .toList();
        List<Package> packages = resolution.packages().stream()
                .map(p -> {
                    Companions.Companion c = companions.get(p.name());
                    return new Package(p.name(), p.version().toString(), p.architecture(), p.origin().suite(), p.url(), p.size(), p.sha256(),
                            c != null ? c.with() : resolution.wantedBy().get(p.name()), c == null ? null : c.reason(), c == null ? null : c.only());
                })
                .toList();
        List<Dropped> dropped = resolution.dropped().stream().map(d -> new Dropped(d.wantedBy(), d.dependency())).toList();
        Lock lock = new Lock(VERSION, stack, stackDigest, architecture, releases, packages, dropped);
        List<String> problems = lock.problems();
        if (!problems.isEmpty()) {
            // the index's stanzas are signed data, but what they name still becomes a URL and a cache path
            String first = problems.get(0);
            int i = first.startsWith("packages[") ? Integer.parseInt(first.substring(9, first.indexOf(']'))) : -1;
            PackageRecord from = i < 0 ? null : resolution.packages().get(i);
            throw new DebianException((from == null ? "" : from.origin().archiveUrl() + " " + from.origin().suite() + ": the Packages stanza of "
                    + from.name() + " " + from.version() + " gives ") + String.join("; ", problems) + "; refusing it");
        }
        return lock;
    }
}
