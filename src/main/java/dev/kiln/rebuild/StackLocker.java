package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.Companions;
import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.DebianVersion;
import dev.kiln.debian.Distribution;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.debian.PackageResolver;
import dev.kiln.debian.Relation;
import dev.kiln.debian.ResolutionException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The resolve and lock steps of the pipeline: a valid stack in, its lock (or its problems, worded with
 * the stack file and the field at fault) out.
 */
public final class StackLocker {

    private final DebianArchive archive;
    private final PackageResolver resolver;
    private final Clock clock;

    public StackLocker(DebianArchive archive, PackageResolver resolver) {
        this(archive, resolver, Clock.systemUTC());
    }

    public StackLocker(DebianArchive archive, PackageResolver resolver, Clock clock) {
        this.archive = archive;
        this.resolver = resolver;
        this.clock = clock;
    }

    /**
     * Either a lock or the problems that prevent one; {@code rebased} lists the suites whose Release went
     * back in time on purpose and {@code downgrades} the versions that went down with it.
     */
    public record Outcome(Lock lock, List<Problem> problems, List<DebianArchive.Rebased> rebased, List<Lock.Change> downgrades) {
        public Outcome {
            problems = List.copyOf(problems);
            rebased = List.copyOf(rebased);
            downgrades = List.copyOf(downgrades);
        }

        Outcome(Lock lock, List<Problem> problems) {
            this(lock, problems, List.of(), List.of());
        }

        public boolean ok() {
            return lock != null;
        }
    }

    public Outcome resolve(Catalog catalog, Stack stack) {
        return resolve(catalog, stack, Optional.empty(), null);
    }

    /**
     * Resolves against fresh indexes, held to what was used before: no suite's Release may be older, and
     * no package's version lower (unless the stack pins it), than in the stack's lock file or, for the
     * service, {@code published} (the lock of its last good build).
     *
     * @param rebase a deliberate re-base (a snapshot mirror): older Releases and lower versions are
     *               accepted, and recorded with who and why
     */
    public Outcome resolve(Catalog catalog, Stack stack, Optional<Lock> published, DebianArchive.Rebase rebase) {
        String file = catalog.file(stack.name()).toString();
        List<Relation> requests = stack.packages().stream().map(Relation::parse).toList();
        List<String> architectures = stack.source().architectures();
        Distribution distribution = distribution(catalog, stack);
        Map<String, Lock> baselines = new LinkedHashMap<>();
        Path lockPath = LockFile.path(catalog.directory(), stack.name());
        try {
            LockFile.read(lockPath).ifPresent(l -> baselines.put(lockPath.toString(), l));
        } catch (DebianException e) {
            // an unreadable lock is reported by currency() and replaced by 'lock'; the release memory still holds
        }
        published.ifPresent(l -> baselines.put("the last published build's lock", l));
        try {
            DebianArchive.Loaded loaded = archive.load(distribution, DebianArchive.Freshness.of(baselines, rebase));
            Set<String> excludes = stack.allExcludes();
            Set<String> libraries = Set.copyOf(stack.excludeLibraries());
            List<Lock> perArchitecture = new ArrayList<>();
            Map<String, List<ResolutionException.Failure>> failures = new LinkedHashMap<>();
            for (String arch : architectures) {
                try {
                    PackageResolver.Resolution resolution = resolver.resolve(loaded.index(arch), requests, excludes, libraries);
                    Companions.Result withCompanions = Companions.add(resolver, loaded.index(arch), requests, excludes, libraries, resolution);
                    perArchitecture.add(Lock.of(stack.name(), Catalog.digest(stack), arch, loaded, withCompanions.resolution(),
                            withCompanions.companions()));
                } catch (ResolutionException e) {
                    failures.put(arch, e.failures());
                }
            }
            if (!failures.isEmpty()) {
                return new Outcome(null, problems(file, architectures, failures));
            }
            Lock lock = Lock.combine(perArchitecture);
            List<Lock.Change> downgrades = new ArrayList<>();
            List<Problem> refused = new ArrayList<>();
            baselines.forEach((source, before) -> downgrades(lock, before, requests).forEach(c -> {
                downgrades.add(c);
                refused.add(new Problem(file, "packages", c.name() + " would go down from " + c.from() + " (in " + source + ") to "
                        + c.to() + ": a downgrade, refused unless the stack pins it (for example '" + c.name().replaceFirst(":.*", "")
                        + " (= " + c.to() + ")' in packages) or it is re-based on purpose (" + archive.rebaseHint() + ")"));
            }));
            if (!refused.isEmpty() && rebase == null) {
                return new Outcome(null, refused);
            }
            return new Outcome(lock, List.of(), loaded.rebased(), downgrades);
        } catch (DebianException e) {
            return new Outcome(null, List.of(new Problem(file, e.getMessage().startsWith("keyring ") ? "source.keyring" : "source",
                    e.getMessage())));
        }
    }

    /**
     * The resolver's failures as problems of the stack's packages. A failure every architecture has is
     * told once; one only some architectures have names them ("for arm64: no package 'x' ..."), which is
     * how a package missing on one architecture shows.
     */
    private static List<Problem> problems(String file, List<String> architectures, Map<String, List<ResolutionException.Failure>> failures) {
        List<Problem> problems = new ArrayList<>();
        Set<ResolutionException.Failure> reported = new HashSet<>();
        failures.forEach((arch, list) -> {
            for (ResolutionException.Failure f : list) {
                boolean everywhere = failures.size() == architectures.size() && failures.values().stream().allMatch(l -> l.contains(f));
                if (everywhere && !reported.add(f)) {
                    continue;
                }
                String text = everywhere || architectures.size() == 1 ? f.message() : "for " + arch + ": " + f.message()
                        + resolvesFor(arch, architectures, failures, f);
                problems.add(new Problem(file, f.request() < 0 ? "packages" : "packages[" + f.request() + "]", text));
            }
        });
        return problems;
    }

    private static String resolvesFor(String arch, List<String> architectures, Map<String, List<ResolutionException.Failure>> failures,
                                      ResolutionException.Failure f) {
        List<String> fine = architectures.stream().filter(a -> !a.equals(arch))
                .filter(a -> failures.getOrDefault(a, List.of()).stream().noneMatch(g -> g.request() == f.request())).toList();
        return fine.isEmpty() || f.request() < 0 ? "" : " (it resolves for " + String.join(", ", fine) + ")";
    }

    /**
     * Packages whose version is lower than in {@code before}, except those a request pins ({@code =},
     * {@code <<}, {@code <=}); compared per architecture both locks are for, a package of one architecture
     * named as {@code name:arch} in a lock for several.
     */
    static List<Lock.Change> downgrades(Lock lock, Lock before, List<Relation> requests) {
        List<Lock.Change> down = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String arch : lock.builtFor()) {
            if (!before.builtFor().contains(arch)) {
                continue;
            }
            Map<String, String> old = new HashMap<>();
            before.forArchitecture(arch).packages().forEach(p -> old.put(p.name(), p.version()));
            for (Lock.Package p : lock.forArchitecture(arch).packages()) {
                String was = old.get(p.name());
                boolean pinned = requests.stream().anyMatch(r -> r.name().equals(p.name()) && r.operator() != null
                        && r.operator() != Relation.Operator.GE && r.operator() != Relation.Operator.GT);
                if (was != null && !pinned && DebianVersion.parse(p.version()).compareTo(DebianVersion.parse(was)) < 0) {
                    String name = lock.multiArchitecture() && !"all".equals(p.architecture()) ? p.name() + ":" + arch : p.name();
                    if (seen.add(name)) {
                        down.add(new Lock.Change(name, was, p.version()));
                    }
                }
            }
        }
        return down;
    }

    /**
     * How a stack's lock file compares with what {@code kiln lock} would write now. {@code problems} say
     * why it is not current (missing, unreadable, made from another stack definition, or locking now
     * would change its packages, each change listed); {@code notes} say what is worth knowing but does
     * not make it stale: Releases past their {@code Valid-Until}, or that it could not be compared with
     * the archive. {@code validate}, {@code lock --check} and {@code build} all ask this one question.
     */
    public record Currency(Lock lock, List<Problem> problems, List<String> notes, List<Lock.Change> changes) {
        public Currency {
            problems = List.copyOf(problems);
            notes = List.copyOf(notes);
            changes = List.copyOf(changes);
        }

        public boolean current() {
            return problems.isEmpty();
        }
    }

    /**
     * A lock file's currency when a build is made from it: when the archive is byte for byte what the
     * lock was made from (its InReleases, verified, with the SHA-256s the lock recorded) it is current
     * without resolving again, which costs three small downloads instead of every index; otherwise it
     * is compared with a fresh resolution, as {@code lock --check} does.
     */
    public Currency currencyForBuild(Catalog catalog, Stack stack, Lock lock) {
        if (lock.stackDigest().equals(Catalog.digest(stack))) {
            try {
                if (archive.unchangedSince(distribution(catalog, stack), lock)) {
                    return currency(catalog, stack, lock, null);
                }
            } catch (DebianException e) {
                // the archive cannot be read now: the full comparison below says so in its notes
            }
        }
        return currency(catalog, stack, lock, resolve(catalog, stack));
    }

    private static Distribution distribution(Catalog catalog, Stack stack) {
        return new Distribution(stack.source().architectures(), catalog.keyring(stack),
                stack.source().archives().stream().map(a -> new Distribution.Archive(a.url(), a.suites(), a.components())).toList());
    }

    /**
     * Compares the stack's lock file with {@code fresh}, a resolution made just now ({@link #resolve});
     * null compares offline (the file, its stack digest and its Valid-Until only).
     */
    public Currency currency(Catalog catalog, Stack stack, Outcome fresh) {
        Path path = LockFile.path(catalog.directory(), stack.name());
        Optional<Lock> read;
        try {
            read = LockFile.read(path);
        } catch (DebianException e) {
            return new Currency(null, List.of(new Problem(path.toString(), "", e.getMessage())), List.of(), List.of());
        }
        if (read.isEmpty()) {
            return new Currency(null, List.of(new Problem(path.toString(), "", "missing; run 'kiln lock " + stack.name() + "'")),
                    List.of(), List.of());
        }
        return currency(catalog, stack, read.get(), fresh);
    }

    /** The same for a lock already read from the stack's lock file. */
    public Currency currency(Catalog catalog, Stack stack, Lock lock, Outcome fresh) {
        Path path = LockFile.path(catalog.directory(), stack.name());
        String relock = "run 'kiln lock " + stack.name() + "'";
        List<Problem> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>(expired(lock));
        String digest = Catalog.digest(stack);
        if (!lock.stackDigest().equals(digest)) {
            problems.add(new Problem(path.toString(), "stackDigest", "stale: resolved from " + lock.stackDigest()
                    + " but " + catalog.file(stack.name()) + " is now " + digest + "; " + relock));
        }
        List<Lock.Change> changes = List.of();
        if (fresh != null && fresh.ok()) {
            changes = fresh.lock().changesSince(lock);
            if (!fresh.lock().samePackages(lock)) {
                problems.add(new Problem(path.toString(), "packages", "out of date: locking now would change "
                        + (changes.isEmpty() ? "how the packages are recorded" : changes.size() + " package" + (changes.size() == 1 ? "" : "s")
                        + " (" + changes.stream().map(Lock.Change::toString).collect(Collectors.joining(", ")) + ")") + "; " + relock));
            }
        } else if (fresh != null) {
            notes.add("not compared with the archive: " + fresh.problems().stream().map(Problem::reason).collect(Collectors.joining("; ")));
        }
        return new Currency(lock, problems, notes, changes);
    }

    /** One note per Release of the lock whose Valid-Until has passed. */
    private List<String> expired(Lock lock) {
        Instant now = clock.instant();
        List<String> notes = new ArrayList<>();
        for (Lock.Release r : lock.releases()) {
            if (r.validUntil() != null && now.isAfter(Instant.parse(r.validUntil()))) {
                notes.add("the lock's Release " + r.suite() + " of " + r.url() + " passed its Valid-Until (" + r.validUntil()
                        + "): it no longer proves its packages are the archive's current ones");
            }
        }
        return notes;
    }
}
