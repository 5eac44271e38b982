package dev.kiln.rebuild;

import dev.kiln.catalog.Architecture;
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
import dev.kiln.image.ImageException;
import dev.kiln.publish.Descriptor;
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
import java.util.ArrayList;
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

    /**
     * One platform of a build: its architecture, its package set (a single-architecture view of the
     * lock), its composition and its image manifest.
     */
    public record Platform(String architecture, Lock lock, Composition composition, Manifest image) {
    }

    /**
     * A finished build: the published image ({@code image}: an image manifest, or for a stack of several
     * architectures the image index over its platforms), the lock it was made from and each platform in
     * the stack's order. A single-architecture build has one platform, whose image is the published one.
     */
    public record Result(String stack, Publisher.Published published, Manifest image, Lock lock, List<Platform> platforms, double seconds) {
        public Result {
            platforms = List.copyOf(platforms);
        }

        /** Whether the published image is an index over several platforms. */
        public boolean index() {
            return image.mediaType().equals(Manifest.OCI_INDEX);
        }

        /** The platform of a single-architecture build. */
        public Platform only() {
            if (platforms.size() != 1) {
                throw new IllegalStateException(stack + " was built for " + platforms.size() + " platforms");
            }
            return platforms.get(0);
        }
    }

    /**
     * An image assembled and about to be published under {@code tag} in {@code repository}: what its
     * evidence is made from. For an image index {@code composition} is null and {@code platforms} holds
     * each platform image with its own; a single image is its one platform.
     */
    public record Staged(String repository, String tag, Manifest image, Composition composition, List<Platform> platforms) {
        public Staged {
            platforms = List.copyOf(platforms);
        }

        public Staged(String repository, String tag, Manifest image, Composition composition) {
            this(repository, tag, image, composition, List.of());
        }

        /** Whether the image is an index over several platforms. */
        public boolean index() {
            return image.mediaType().equals(Manifest.OCI_INDEX);
        }
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

    /** The stack's lock file, which must exist, match the stack definition and be for its architectures. */
    public static Lock lockFile(Catalog catalog, Stack stack) {
        Path lockFile = LockFile.path(catalog.directory(), stack.name());
        Lock lock = LockFile.read(lockFile).orElseThrow(() -> new BuildException(lockFile + ": missing; run 'kiln lock " + stack.name() + "'"));
        String digest = Catalog.digest(stack);
        if (!lock.stackDigest().equals(digest)) {
            throw new BuildException(lockFile + ": stale (resolved from " + lock.stackDigest() + ", " + catalog.file(stack.name())
                    + " is now " + digest + "); run 'kiln lock " + stack.name() + "'");
        }
        if (!lock.builtFor().equals(stack.source().architectures())) {
            throw new BuildException(lockFile + ": locked for " + String.join(", ", lock.builtFor()) + ", but " + catalog.file(stack.name())
                    + " is built for " + String.join(", ", stack.source().architectures()) + "; run 'kiln lock " + stack.name() + "'");
        }
        return lock;
    }

    /**
     * Builds from {@code lock}, telling {@code progress} each step as it starts (fetching, composing
     * each platform, publishing). Every platform is composed and checked before anything is pushed; a
     * stack of several architectures is published as one image index under the tag.
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
        progress.accept("publishing");
        String repository = target.repository(stack.target().repository());
        Publisher.Published published = publisher.publish(assembled.image(), target, repository,
                new Publisher.Tagging(stack.version(), stack.tag(), tag, usedTags),
                chosen -> evidence.attach(new Staged(repository, chosen, assembled.image(), assembled.composition(), assembled.platforms())));
        return new Result(stack.name(), published, assembled.image(), lock, assembled.platforms(), (System.nanoTime() - start) / 1e9);
    }

    /**
     * An image composed and assembled but not published: what an independent rebuild compares. For a
     * stack of several architectures {@code image} is the index and {@code composition} is null (each
     * platform has its own).
     */
    public record Assembled(Manifest image, Composition composition, List<Platform> platforms) {
        public Assembled {
            platforms = List.copyOf(platforms);
        }
    }

    /**
     * Composes and assembles {@code stack} from {@code lock} as a build does, publishing nothing;
     * {@code sourceUrl} is the catalog's source label the build used. Every platform is composed and
     * checked before anything is pushed; a stack of several architectures becomes one image index.
     */
    public Assembled assemble(Stack stack, Lock lock, Optional<String> sourceUrl, Consumer<String> progress) {
        List<String> architectures = lock.builtFor();
        if (!architectures.equals(stack.source().architectures())) {
            throw new BuildException(stack.name() + ": the lock is for " + String.join(", ", architectures) + ", the stack for "
                    + String.join(", ", stack.source().architectures()) + "; run 'kiln lock " + stack.name() + "'");
        }
        progress.accept("fetching");
        // every platform's packages are asked for at once: later ones download while the first compose
        Map<String, java.util.concurrent.Future<Path>> pending = fetch(lock);
        try {
            if (architectures.size() == 1) {
                Platform only = platform(sourceUrl, stack, lock, architectures.get(0), pending, progress);
                return new Assembled(only.image(), only.composition(), List.of(only));
            }
            List<Platform> platforms = platforms(sourceUrl, stack, lock, architectures, pending, progress);
            return new Assembled(index(sourceUrl, stack, lock, platforms), null, platforms);
        } finally {
            pending.values().forEach(f -> f.cancel(true));
        }
    }

    /** One platform composed, checked and assembled, once its packages are here. */
    private Platform platform(Optional<String> sourceUrl, Stack stack, Lock lock, String arch,
                              Map<String, java.util.concurrent.Future<Path>> pending, Consumer<String> progress) {
        Stack platformStack = stack.forArchitecture(arch);
        Lock platformLock = lock.forArchitecture(arch);
        Map<String, Path> debs = debs(stack, platformLock, pending);
        if (progress != null) {
            progress.accept("composing");
        }
        Composition composition = composer.compose(platformStack, platformLock, debs, sourceDate);
        Manifest image = ImageAssembler.assemble(composition, config(sourceUrl, platformStack, platformLock, composition.created()));
        return new Platform(arch, platformLock, composition, image);
    }

    /**
     * Every platform composed side by side, one thread each: composing has single-threaded stretches
     * (staging, hardening, the checks) that leave a core idle, and the other platform fills it. A
     * platform's problems name it; the problems of every failing platform are reported together.
     */
    private List<Platform> platforms(Optional<String> sourceUrl, Stack stack, Lock lock, List<String> architectures,
                                     Map<String, java.util.concurrent.Future<Path>> pending, Consumer<String> progress) {
        progress.accept("composing");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(architectures.size(), r -> {
            Thread t = new Thread(r, "kiln-platform");
            t.setDaemon(true);
            return t;
        });
        try {
            Map<String, java.util.concurrent.Future<Platform>> composing = new LinkedHashMap<>();
            for (String arch : architectures) {
                composing.put(arch, pool.submit(() -> platform(sourceUrl, stack, lock, arch, pending, null)));
            }
            List<Platform> platforms = new ArrayList<>();
            List<String> failed = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            for (var e : composing.entrySet()) {
                String arch = e.getKey();
                try {
                    platforms.add(e.getValue().get());
                } catch (java.util.concurrent.ExecutionException x) {
                    if (x.getCause() instanceof ImageException image) {
                        // which platform failed is part of every problem: the others may be fine
                        failed.add(arch + ": " + image.getMessage());
                        image.problems().forEach(p -> problems.add(arch + ": " + p));
                    } else {
                        throw x.getCause() instanceof RuntimeException r ? r : new IllegalStateException(x.getCause());
                    }
                }
            }
            if (!failed.isEmpty()) {
                throw new ImageException(String.join("; ", failed), problems);
            }
            return platforms;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while composing", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The image index over the platform images, each entry naming its platform ({@code linux/arm64}).
     * Its annotations say what the index is (the stack, its version, the whole lock) and, as {@code
     * created}, the newest platform's time.
     */
    static Manifest index(Optional<String> sourceUrl, Stack stack, Lock lock, List<Platform> platforms) {
        Instant created = platforms.stream().map(p -> p.composition().created()).max(Comparator.naturalOrder()).orElseThrow();
        Map<String, String> annotations = new TreeMap<>(facts(sourceUrl, stack, lock.stackDigest(), created));
        annotations.put("dev.kiln.lock.digest", lock.digest());
        List<Descriptor.Platform> of = platforms.stream().map(p -> platform(p.architecture())).toList();
        return Manifest.index(platforms.stream().map(Platform::image).toList(), of, annotations);
    }

    /** The OCI platform of a Debian architecture ({@code i386} is {@code linux/386}, {@code armhf} {@code linux/arm/v7}). */
    static Descriptor.Platform platform(String debianArchitecture) {
        Architecture a = Architecture.named(debianArchitecture);
        return new Descriptor.Platform("linux", a.ociArchitecture(), a.ociVariant());
    }

    /** Starts the download of every distinct .deb of the lock (each once, by SHA-256), four at a time. */
    private Map<String, java.util.concurrent.Future<Path>> fetch(Lock lock) {
        Map<String, java.util.concurrent.Future<Path>> pending = new LinkedHashMap<>();
        for (Lock.Package p : lock.allPackages()) {
            pending.computeIfAbsent(p.sha256(), sha -> DOWNLOADS.submit(() -> packages.fetch(p)));
        }
        return pending;
    }

    /** One platform's packages from the verified cache, by name, as their downloads finish. */
    private static Map<String, Path> debs(Stack stack, Lock platformLock, Map<String, java.util.concurrent.Future<Path>> pending) {
        Map<String, Path> debs = new LinkedHashMap<>();
        try {
            for (Lock.Package p : platformLock.packages()) {
                debs.put(p.name(), pending.get(p.sha256()).get());
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

    /** As above, with the catalog's source label ({@code org.opencontainers.image.source}) given. */
    static ImageConfig config(Optional<String> sourceUrl, Stack stack, Lock lock, Instant created) {
        Map<String, String> facts = facts(sourceUrl, stack, lock.stackDigest(), created);
        facts.put("dev.kiln.lock.digest", lock.digest());
        facts.put("dev.kiln.packages", Integer.toString(lock.packages().size()));
        Map<String, String> labels = new TreeMap<>(stack.labels());
        labels.putAll(facts);
        Map<String, String> env = new TreeMap<>(ImageEnv.of(stack, lock));
        env.putIfAbsent("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        Descriptor.Platform platform = platform(lock.architecture());
        return new ImageConfig(platform.architecture(), platform.variant(), stack.user().uid(), stack.user().gid(), env, stack.entrypoint(),
                stack.cmd(), stack.workdir(), labels, facts);
    }

    /** What an image (or an index) says about the stack it was built from, whatever the platform. */
    private static Map<String, String> facts(Optional<String> sourceUrl, Stack stack, String stackDigest, Instant created) {
        Map<String, String> facts = new TreeMap<>();
        facts.put("org.opencontainers.image.created", created.toString());
        facts.put("org.opencontainers.image.version", stack.version());
        facts.put("org.opencontainers.image.title", stack.name());
        facts.put("org.opencontainers.image.description", stack.description());
        facts.put("org.opencontainers.image.authors", stack.owner());
        facts.put("org.opencontainers.image.vendor", "Kiln");
        sourceUrl.ifPresent(url -> facts.put("org.opencontainers.image.source", url));
        facts.put("dev.kiln.stack", stack.name());
        facts.put("dev.kiln.stack.digest", stackDigest);
        return facts;
    }
}
