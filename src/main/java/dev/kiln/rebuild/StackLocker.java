package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.Problem;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.DebianArchive;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Distribution;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.debian.PackageResolver;
import dev.kiln.debian.Relation;
import dev.kiln.debian.ResolutionException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
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

    /** Either a lock or the problems that prevent one. */
    public record Outcome(Lock lock, List<Problem> problems) {
        public Outcome {
            problems = List.copyOf(problems);
        }

        public boolean ok() {
            return lock != null;
        }
    }

    public Outcome resolve(Catalog catalog, Stack stack) {
        String file = catalog.file(stack.name()).toString();
        List<Relation> requests = stack.packages().stream().map(Relation::parse).toList();
        Distribution distribution = new Distribution(stack.source().architecture(), catalog.keyring(stack),
                stack.source().archives().stream()
                        .map(a -> new Distribution.Archive(a.url(), a.suites(), a.components())).toList());
        try {
            DebianArchive.Loaded loaded = archive.load(distribution);
            PackageResolver.Resolution resolution = resolver.resolve(loaded.index(), requests, new HashSet<>(stack.excludes()));
            return new Outcome(Lock.of(stack.name(), Catalog.digest(stack), stack.source().architecture(), loaded, resolution), List.of());
        } catch (ResolutionException e) {
            List<Problem> problems = new ArrayList<>();
            for (ResolutionException.Failure f : e.failures()) {
                problems.add(new Problem(file, f.request() < 0 ? "packages" : "packages[" + f.request() + "]", f.message()));
            }
            return new Outcome(null, problems);
        } catch (DebianException e) {
            return new Outcome(null, List.of(new Problem(file, "source", e.getMessage())));
        }
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
