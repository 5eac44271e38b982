package dev.kiln.debian;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A stack resolved to exact packages: what {@code kiln lock} writes to {@code <stack>.lock.json} and what
 * a build reads. It holds nothing that changes when the inputs do not (no timestamp of its own), so an
 * unchanged archive re-locks to the same bytes.
 */
public record Lock(int lockVersion, String stack, String stackDigest, String architecture,
                   List<Release> releases, List<Package> packages, List<Dropped> dropped) {

    public static final int VERSION = 1;

    public Lock {
        releases = List.copyOf(releases);
        packages = List.copyOf(packages);
        dropped = List.copyOf(dropped);
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
     * version, architecture, SHA-256 and, when the image keeps only part of it, those paths. Release
     * dates are left out: they change daily when nothing else does.
     */
    public String digest() {
        StringBuilder text = new StringBuilder(stackDigest).append('\n');
        packages.stream().sorted(java.util.Comparator.comparing(Package::name))
                .forEach(p -> text.append(p.name()).append(' ').append(p.version()).append(' ').append(p.architecture())
                        .append(' ').append(p.sha256()).append(p.only() == null ? "" : " only " + String.join(" ", p.only())).append('\n'));
        try {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "sha256:" + java.util.HexFormat.of().formatHex(hash);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A package whose version changed between two locks; {@code from} or {@code to} is null when it came or went. */
    public record Change(String name, String from, String to) {
        @Override
        public String toString() {
            return from == null ? "+ " + name + " " + to : to == null ? "- " + name + " " + from : "~ " + name + " " + from + " -> " + to;
        }
    }

    /** What changed from {@code before} (null: nothing before) to this lock, by package name. */
    public List<Change> changesSince(Lock before) {
        if (before == null) {
            return List.of();
        }
        java.util.Map<String, String> old = new java.util.TreeMap<>();
        before.packages().forEach(p -> old.put(p.name(), p.version()));
        java.util.Map<String, String> now = new java.util.TreeMap<>();
        packages.forEach(p -> now.put(p.name(), p.version()));
        List<Change> changes = new java.util.ArrayList<>();
        now.forEach((name, version) -> {
            String was = old.get(name);
            if (!version.equals(was)) {
                changes.add(new Change(name, was, version));
            }
        });
        old.forEach((name, version) -> {
            if (!now.containsKey(name)) {
                changes.add(new Change(name, version, null));
            }
        });
        return changes;
    }

    /**
     * What is wrong with the names, URLs and hashes of this lock, one line per field ({@code
     * packages[3].url: ...}); empty when nothing. They come from an archive's index or a file anyone
     * can edit, and become URLs and cache paths, so they must have exactly the shape Debian gives them.
     */
    public List<String> problems() {
        List<String> problems = new java.util.ArrayList<>();
        for (int i = 0; i < packages.size(); i++) {
            Package p = packages.get(i);
            String at = "packages[" + i + "]";
            if (!Names.isPackage(p.name())) {
                problems.add(at + ".name: " + quoted(p.name()) + " is not a Debian package name");
            }
            String badVersion = p.version() == null ? "missing" : versionProblem(p.version());
            if (badVersion != null) {
                problems.add(at + ".version: " + quoted(p.version()) + ": " + badVersion);
            }
            if (!Names.isArchitecture(p.architecture())) {
                problems.add(at + ".architecture: " + quoted(p.architecture()) + " is not a Debian architecture");
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
