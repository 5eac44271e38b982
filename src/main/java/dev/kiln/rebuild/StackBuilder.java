package dev.kiln.rebuild;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogRevision;
import dev.kiln.catalog.Stack;
import dev.kiln.debian.DebianException;
import dev.kiln.debian.Lock;
import dev.kiln.debian.LockFile;
import dev.kiln.debian.PackageCache;
import dev.kiln.image.Composer;
import dev.kiln.image.Composition;
import dev.kiln.publish.Publisher;
import dev.kiln.publish.Target;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The build step of the pipeline: a stack and its current lock in, a published image out. Packages come
 * from the verified cache, composition and checks run in a scratch directory that is always removed, and
 * nothing is tagged unless every check passed.
 */
public final class StackBuilder {

    private final PackageCache packages;
    private final Composer composer;
    private final Publisher publisher;
    private final Path workRoot;
    private final Instant sourceDate;

    /** @param sourceDate SOURCE_DATE_EPOCH when set, else null (the newest package file time is used) */
    public StackBuilder(PackageCache packages, Composer composer, Publisher publisher, Path workRoot, Instant sourceDate) {
        this.packages = packages;
        this.composer = composer;
        this.publisher = publisher;
        this.workRoot = workRoot;
        this.sourceDate = sourceDate;
    }

    /** A finished build. */
    public record Result(String stack, Publisher.Published published, Composition composition, Lock lock, double seconds) {
    }

    /** Builds from the stack's lock file in the catalog (what {@code kiln build} does). */
    public Result build(Catalog catalog, Stack stack, Target target, Optional<String> tag) {
        return build(catalog, stack, lockFile(catalog, stack), target, tag, step -> { });
    }

    /** The stack's lock file, which must exist and match the stack definition. */
    public static Lock lockFile(Catalog catalog, Stack stack) {
        Path lockFile = LockFile.path(catalog.directory(), stack.name());
        Lock lock = LockFile.read(lockFile).orElseThrow(() -> new BuildException(lockFile + ": missing; run 'kiln lock " + stack.name() + "'"));
        String digest = Catalog.digest(stack);
        if (!lock.stackDigest().equals(digest)) {
            throw new BuildException(lockFile + ": stale (resolved from " + lock.stackDigest() + ", " + catalog.file(stack.name())
                    + " is now " + digest + "); run 'kiln lock " + stack.name() + "'");
        }
        return lock;
    }

    /**
     * Builds from {@code lock}, telling {@code progress} each step as it starts (fetching, composing,
     * publishing).
     */
    public Result build(Catalog catalog, Stack stack, Lock lock, Target target, Optional<String> tag, Consumer<String> progress) {
        long start = System.nanoTime();
        progress.accept("fetching");
        Map<String, Path> debs = new LinkedHashMap<>();
        for (Lock.Package p : lock.packages()) {
            try {
                debs.put(p.name(), packages.fetch(p));
            } catch (DebianException e) {
                throw new BuildException(stack.name() + ": " + e.getMessage(), e);
            }
        }
        Path work;
        try {
            Files.createDirectories(workRoot);
            work = Files.createTempDirectory(workRoot, stack.name() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            progress.accept("composing");
            Composition composition = composer.compose(stack, lock, debs, work.resolve("compose"), sourceDate);
            progress.accept("publishing");
            Files.createDirectories(work.resolve("publish"));
            Publisher.Published published = publisher.publish(composition, spec(catalog, stack, lock, composition), target, tag,
                    work.resolve("publish"));
            return new Result(stack.name(), published, composition, lock, (System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            delete(work);
        }
    }

    /** Whether the image a build left under {@code tag} is still there with {@code digest}. */
    public boolean holds(Target target, String stackRepository, String tag, String digest) {
        return publisher.holds(target, stackRepository, tag, digest);
    }

    static Publisher.Spec spec(Catalog catalog, Stack stack, Lock lock, Composition composition) {
        Map<String, String> labels = new TreeMap<>(stack.labels());
        Optional<CatalogRevision> revision = CatalogRevision.of(catalog.directory());
        labels.put("org.opencontainers.image.created", composition.created().toString());
        labels.put("org.opencontainers.image.version", stack.version());
        labels.put("org.opencontainers.image.title", stack.name());
        labels.put("org.opencontainers.image.description", stack.description());
        labels.put("org.opencontainers.image.authors", stack.owner());
        labels.put("org.opencontainers.image.vendor", "Kiln");
        labels.put("org.opencontainers.image.base.name", "scratch");
        revision.ifPresent(r -> labels.put("org.opencontainers.image.revision", r.commit()));
        labels.put("org.opencontainers.image.source", revision.map(CatalogRevision::origin).filter(o -> o != null)
                .orElse("catalog/" + catalog.file(stack.name()).getFileName()));
        labels.put("dev.kiln.stack", stack.name());
        labels.put("dev.kiln.stack.digest", lock.stackDigest());
        labels.put("dev.kiln.lock.digest", lock.digest());
        labels.put("dev.kiln.packages", Integer.toString(lock.packages().size()));
        Map<String, String> env = new TreeMap<>(stack.env());
        env.putIfAbsent("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        return new Publisher.Spec(stack.target().repository(), stack.version(), stack.tag(), stack.user().uid(), stack.user().gid(),
                env, stack.entrypoint(), stack.cmd(), stack.workdir(), labels, stack.source().architecture());
    }

    private static void delete(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover scratch directory is harmless
        }
    }
}
