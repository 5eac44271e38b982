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
import dev.kiln.image.ImageEnv;
import dev.kiln.publish.ImageAssembler;
import dev.kiln.publish.ImageConfig;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.Manifest;
import dev.kiln.publish.Publisher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The build step of the pipeline: a stack and its current lock in, a published image out. Packages come
 * from the verified cache, composition and checks read them unpacked in place, and nothing is tagged
 * unless every check passed.
 */
public final class StackBuilder {

    private final PackageCache packages;
    private final Composer composer;
    private final Publisher publisher;
    private final Instant sourceDate;

    private static final java.util.concurrent.ExecutorService DOWNLOADS = java.util.concurrent.Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "kiln-fetch");
        t.setDaemon(true);
        return t;
    });

    /** @param sourceDate SOURCE_DATE_EPOCH when set, else null (the newest package file time is used) */
    public StackBuilder(PackageCache packages, Composer composer, Publisher publisher, Instant sourceDate) {
        this.packages = packages;
        this.composer = composer;
        this.publisher = publisher;
        this.sourceDate = sourceDate;
    }

    /** A finished build: the published image, what it was made of and the assembled manifest. */
    public record Result(String stack, Publisher.Published published, Composition composition, Manifest image, Lock lock, double seconds) {
    }

    /** An image assembled and about to be published under {@code tag} in {@code repository}: what its evidence is made from. */
    public record Staged(String repository, String tag, Manifest image, Composition composition) {
    }

    /** Makes the artifacts (signature, attestations) to attach to a staged image before it is tagged. */
    @FunctionalInterface
    public interface Evidence {
        List<Manifest> attach(Staged staged);

        Evidence NONE = staged -> List.of();
    }

    /** Builds from the stack's lock file in the catalog (what {@code kiln build} does). */
    public Result build(Catalog catalog, Stack stack, ImageTarget target, Optional<String> tag) {
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
    public Result build(Catalog catalog, Stack stack, Lock lock, ImageTarget target, Optional<String> tag, Consumer<String> progress) {
        return build(catalog, stack, lock, target, tag, java.util.Set.of(), progress);
    }

    /** @param usedTags tags the repository's images had before, retired ones included: never given again */
    public Result build(Catalog catalog, Stack stack, Lock lock, ImageTarget target, Optional<String> tag, java.util.Set<String> usedTags,
                        Consumer<String> progress) {
        return build(catalog, stack, lock, target, tag, usedTags, progress, Evidence.NONE);
    }

    /** As above, with {@code evidence} attached to the image before it is tagged. */
    public Result build(Catalog catalog, Stack stack, Lock lock, ImageTarget target, Optional<String> tag, java.util.Set<String> usedTags,
                        Consumer<String> progress, Evidence evidence) {
        long start = System.nanoTime();
        Optional<String> sourceUrl = CatalogRevision.of(catalog.directory()).flatMap(CatalogRevision::sourceUrl);
        Assembled assembled = assemble(stack, lock, sourceUrl, progress);
        Manifest image = assembled.image();
        Composition composition = assembled.composition();
        progress.accept("publishing");
        String repository = target.repository(stack.target().repository());
        Publisher.Published published = publisher.publish(image, target, repository,
                new Publisher.Tagging(stack.version(), stack.tag(), tag, usedTags),
                chosen -> evidence.attach(new Staged(repository, chosen, image, composition)));
        return new Result(stack.name(), published, composition, image, lock, (System.nanoTime() - start) / 1e9);
    }

    /** An image composed and assembled but not published: what an independent rebuild compares. */
    public record Assembled(Manifest image, Composition composition) {
    }

    /**
     * Composes and assembles {@code stack} from {@code lock} as a build does, publishing nothing;
     * {@code sourceUrl} is the catalog's source label the build used.
     */
    public Assembled assemble(Stack stack, Lock lock, Optional<String> sourceUrl, Consumer<String> progress) {
        progress.accept("fetching");
        Map<String, Path> debs = fetch(stack, lock);
        progress.accept("composing");
        Composition composition = composer.compose(stack, lock, debs, sourceDate);
        return new Assembled(ImageAssembler.assemble(composition, config(sourceUrl, stack, lock, composition.created())), composition);
    }

    /** The locked packages from the verified cache, downloading the missing ones four at a time. */
    private Map<String, Path> fetch(Stack stack, Lock lock) {
        Map<String, java.util.concurrent.Future<Path>> pending = new LinkedHashMap<>();
        for (Lock.Package p : lock.packages()) {
            pending.put(p.name(), DOWNLOADS.submit(() -> packages.fetch(p)));
        }
        Map<String, Path> debs = new LinkedHashMap<>();
        try {
            for (var e : pending.entrySet()) {
                debs.put(e.getKey(), e.getValue().get());
            }
            return debs;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException(stack.name() + ": interrupted while fetching packages", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof DebianException d) {
                // the cause stays: an archive outage is told from a bad package by it (Outage)
                throw new BuildException(stack.name() + ": " + d.getMessage(), d);
            }
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pending.values().forEach(f -> f.cancel(true));
        }
    }

    /**
     * What the image says about itself. Labels are inherited by images built FROM it; the manifest's
     * annotations describe this image alone. Nothing here is machine-specific: the catalog's origin is
     * used only when it is a URL, without credentials, and the catalog's commit is not used at all (it
     * changes with every commit to the catalog, which would change every image's digest; the build
     * record and the provenance carry it).
     */
    public static ImageConfig config(Catalog catalog, Stack stack, Lock lock, Instant created) {
        return config(CatalogRevision.of(catalog.directory()).flatMap(CatalogRevision::sourceUrl), stack, lock, created);
    }

    static ImageConfig config(Optional<String> sourceUrl, Stack stack, Lock lock, Instant created) {
        Map<String, String> facts = new TreeMap<>();
        facts.put("org.opencontainers.image.created", created.toString());
        facts.put("org.opencontainers.image.version", stack.version());
        facts.put("org.opencontainers.image.title", stack.name());
        facts.put("org.opencontainers.image.description", stack.description());
        facts.put("org.opencontainers.image.authors", stack.owner());
        facts.put("org.opencontainers.image.vendor", "Kiln");
        sourceUrl.ifPresent(url -> facts.put("org.opencontainers.image.source", url));
        facts.put("dev.kiln.stack", stack.name());
        facts.put("dev.kiln.stack.digest", lock.stackDigest());
        facts.put("dev.kiln.lock.digest", lock.digest());
        facts.put("dev.kiln.packages", Integer.toString(lock.packages().size()));
        Map<String, String> labels = new TreeMap<>(stack.labels());
        labels.putAll(facts);
        Map<String, String> env = new TreeMap<>(ImageEnv.of(stack, lock));
        env.putIfAbsent("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        return new ImageConfig(stack.source().architecture(), stack.user().uid(), stack.user().gid(), env, stack.entrypoint(), stack.cmd(),
                stack.workdir(), labels, facts);
    }

}
