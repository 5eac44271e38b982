package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;

/**
 * The resolve and lock steps of the pipeline: a valid stack in, its lock (or its problems, worded with
 * the stack file and the field at fault) out.
 */
public final class StackLocker {

    private final DebianArchive archive;
    private final PackageResolver resolver;

    public StackLocker(DebianArchive archive, PackageResolver resolver) {
        this.archive = archive;
        this.resolver = resolver;
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
        Distribution distribution = new Distribution(stack.source().architecture(), catalog.keyring(stack),
                stack.source().archives().stream()
                        .map(a -> new Distribution.Archive(a.url(), a.suites(), a.components())).toList());
        Map<String, Lock> baselines = new LinkedHashMap<>();
        Path lockPath = LockFile.path(catalog.directory(), stack.name());
        try {
            LockFile.read(lockPath).ifPresent(l -> baselines.put(lockPath.toString(), l));
        } catch (DebianException e) {
            // an unreadable lock is reported by staleness() and replaced by 'lock'; the release memory still holds
        }
        published.ifPresent(l -> baselines.put("the last published build's lock", l));
        try {
            DebianArchive.Loaded loaded = archive.load(distribution, DebianArchive.Freshness.of(baselines, rebase));
            PackageResolver.Resolution resolution = resolver.resolve(loaded.index(), requests, new HashSet<>(stack.excludes()));
            Lock lock = Lock.of(stack.name(), Catalog.digest(stack), stack.source().architecture(), loaded, resolution);
            List<Lock.Change> downgrades = new ArrayList<>();
            List<Problem> refused = new ArrayList<>();
            baselines.forEach((source, before) -> downgrades(lock, before, requests).forEach(c -> {
                downgrades.add(c);
                refused.add(new Problem(file, "packages", c.name() + " would go down from " + c.from() + " (in " + source + ") to "
                        + c.to() + ": a downgrade, refused unless the stack pins it (for example '" + c.name() + " (= " + c.to()
                        + ")' in packages) or the lock is re-based (--rebase=REASON)"));
            }));
            if (!refused.isEmpty() && rebase == null) {
                return new Outcome(null, refused);
            }
            return new Outcome(lock, List.of(), loaded.rebased(), downgrades);
        } catch (ResolutionException e) {
            List<Problem> problems = new ArrayList<>();
            for (ResolutionException.Failure f : e.failures()) {
                problems.add(new Problem(file, f.request() < 0 ? "packages" : "packages[" + f.request() + "]", f.message()));
            }
            return new Outcome(null, problems);
        } catch (DebianException e) {
            return new Outcome(null, List.of(new Problem(file, e.getMessage().startsWith("keyring ") ? "source.keyring" : "source",
                    e.getMessage())));
        }
    }

    /** Packages whose version is lower than in {@code before}, except those a request pins ({@code =}, {@code <<}, {@code <=}). */
    static List<Lock.Change> downgrades(Lock lock, Lock before, List<Relation> requests) {
        Map<String, String> old = new HashMap<>();
        before.packages().forEach(p -> old.put(p.name(), p.version()));
        List<Lock.Change> down = new ArrayList<>();
        for (Lock.Package p : lock.packages()) {
            String was = old.get(p.name());
            boolean pinned = requests.stream().anyMatch(r -> r.name().equals(p.name()) && r.operator() != null
                    && r.operator() != Relation.Operator.GE && r.operator() != Relation.Operator.GT);
            if (was != null && !pinned && DebianVersion.parse(p.version()).compareTo(DebianVersion.parse(was)) < 0) {
                down.add(new Lock.Change(p.name(), was, p.version()));
            }
        }
        return down;
    }

    /** Why the stack's lock file cannot be built from, or empty when it is current. */
    public Optional<Problem> staleness(Catalog catalog, Stack stack) {
        Path path = LockFile.path(catalog.directory(), stack.name());
        try {
            Optional<Lock> lock = LockFile.read(path);
            if (lock.isEmpty()) {
                return Optional.of(new Problem(path.toString(), "", "missing; run 'kiln lock " + stack.name() + "'"));
            }
            String digest = Catalog.digest(stack);
            if (!lock.get().stackDigest().equals(digest)) {
                return Optional.of(new Problem(path.toString(), "stackDigest", "stale: resolved from " + lock.get().stackDigest()
                        + " but " + catalog.file(stack.name()) + " is now " + digest + "; run 'kiln lock " + stack.name() + "'"));
            }
            return Optional.empty();
        } catch (DebianException e) {
            return Optional.of(new Problem(path.toString(), "", e.getMessage()));
        }
    }
}
