package dev.kiln.image;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Turns a locked stack's verified {@code .deb} files into hardened, checked layers: stage each package
 * once, harden its entries, add Kiln's own files, verify the merged filesystem, then write the layers
 * of the plan. Verification runs before any layer is written, so a failing stack costs little.
 */
public final class Composer {

    private final int maxLayers;
    private final long largeBytes;

    public Composer(int maxLayers, long largeBytes) {
        this.maxLayers = maxLayers;
        this.largeBytes = largeBytes;
    }

    /**
     * @param debs       package name → its verified .deb
     * @param work       an empty directory for staging and layers; the caller removes it
     * @param sourceDate SOURCE_DATE_EPOCH, or null to use the newest file time in the packages
     */
    public Composition compose(Stack stack, Lock lock, Map<String, Path> debs, Path work, Instant sourceDate) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            Files.createDirectories(work.resolve("staged"));
            Files.createDirectories(work.resolve("layers"));
            List<Callable<StagedPackage>> staging = new ArrayList<>();
            for (Lock.Package p : lock.packages()) {
                Path deb = debs.get(p.name());
                staging.add(() -> StagedPackage.stage(p.name(), p.version(), p.sha256(), deb, work.resolve("staged/" + p.sha256())));
            }
            Map<String, StagedPackage> staged = new LinkedHashMap<>();
            for (StagedPackage s : all(pool, staging)) {
                staged.put(s.name(), s);
            }

            Rootfs links = new Rootfs();
            long newest = 0;
            for (StagedPackage s : staged.values()) {
                for (Item item : s.items()) {
                    if (item.type() == Item.Type.SYMLINK || item.type() == Item.Type.DIRECTORY) {
                        links.add(item);
                    }
                    newest = Math.max(newest, item.mtime());
                }
            }
            long created = sourceDate != null ? sourceDate.getEpochSecond() : newest;

            Map<String, List<String>> only = new LinkedHashMap<>();
            lock.packages().stream().filter(p -> p.only() != null).forEach(p -> only.put(p.name(), p.only()));
            Hardening hardening = new Hardening(stack, only);
            Map<String, List<Item>> applied = new LinkedHashMap<>();
            for (StagedPackage s : staged.values()) {
                applied.put(s.name(), hardening.apply(s, links));
            }
            List<Item> base = SystemFiles.base(stack.user(), created);
            Map<String, List<Item>> contents = hardening.settle(applied, base);
            for (StagedPackage s : staged.values()) {
                List<Item> kept = new ArrayList<>(contents.get(s.name()));
                kept.addAll(SystemFiles.status(s, kept, created));
                contents.put(s.name(), kept);
            }

            Map<String, Long> sizes = new LinkedHashMap<>();
            lock.packages().forEach(p -> sizes.put(p.name(), p.size()));
            LayerPlan plan = LayerPlan.plan(sizes, maxLayers, largeBytes);

            Rootfs fs = new Rootfs();
            base.forEach(fs::add);
            List<List<Item>> groupItems = new ArrayList<>();
            for (LayerPlan.Group group : plan.groups()) {
                List<Item> items = new ArrayList<>();
                group.packages().forEach(n -> items.addAll(contents.get(n)));
                items.forEach(fs::add);
                groupItems.add(items);
            }
            List<Item> derived = SystemFiles.derived(fs, created);
            derived.forEach(fs::add);

            Verifier.Result verified = Verifier.verify(fs, stack, ImageEnv.of(stack, lock));
            if (!verified.problems().isEmpty()) {
                int n = verified.problems().size();
                throw new ImageException(stack.name() + ": the image fails " + n + " check" + (n == 1 ? "" : "s") + ": "
                        + verified.problems().get(0) + (n > 1 ? " (and " + (n - 1) + " more)" : ""), verified.problems());
            }

            List<Callable<Composition.Layer>> writes = new ArrayList<>();
            Path layers = work.resolve("layers");
            writes.add(() -> LayerWriter.write("kiln-base", List.of(), base, created, layers.resolve("0-base.tar.gz")));
            for (int i = 0; i < plan.groups().size(); i++) {
                LayerPlan.Group group = plan.groups().get(i);
                List<Item> items = groupItems.get(i);
                Path file = layers.resolve((i + 1) + "-" + group.name() + ".tar.gz");
                writes.add(() -> LayerWriter.write(group.name(), group.packages(), items, created, file));
            }
            if (!derived.isEmpty()) {
                writes.add(() -> LayerWriter.write("kiln-derived", List.of(), derived, created, layers.resolve("z-derived.tar.gz")));
            }
            List<String> generated = derived.stream().filter(i -> i.type() != Item.Type.DIRECTORY).map(i -> "/" + i.path()).toList();
            return new Composition(all(pool, writes), Instant.ofEpochSecond(created), hardening.report(verified, generated));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static <T> List<T> all(ExecutorService pool, List<Callable<T>> tasks) {
        List<Future<T>> futures = new ArrayList<>();
        tasks.forEach(t -> futures.add(pool.submit(t)));
        List<T> results = new ArrayList<>();
        try {
            for (Future<T> f : futures) {
                results.add(f.get());
            }
            return results;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }
}
