package dev.kiln.image;

import dev.kiln.catalog.Stack;
import dev.kiln.debian.Lock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
 * once, harden its entries, add Kiln's own files, verify the merged filesystem, then take each layer of
 * the plan from the layer cache or write it. Verification runs before any layer is written, so a
 * failing stack costs little. A package's layer holds its files and its {@code status.d} entries, dated
 * by the package's own files, so its digest depends on nothing else: the same package (and the settings
 * that change its files) gives the same layer in every stack and every build.
 */
public final class Composer {

    /** Kiln's bottom layer (users, groups) depends on the stack's user alone; its entries carry this fixed time. */
    static final long BASE_TIME = 0;

    private final int maxLayers;
    private final long largeBytes;
    private final LayerCache cache;
    private final UnpackCache unpacks;

    public Composer(int maxLayers, long largeBytes, LayerCache cache, UnpackCache unpacks) {
        this.maxLayers = maxLayers;
        this.largeBytes = largeBytes;
        this.cache = cache;
        this.unpacks = unpacks;
    }

    /**
     * @param debs       package name → its verified .deb
     * @param sourceDate SOURCE_DATE_EPOCH, or null to use the newest file time in the packages (the
     *                   image's creation time: it goes into the config, never into a layer)
     */
    public Composition compose(Stack stack, Lock lock, Map<String, Path> debs, Instant sourceDate) {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            List<Callable<StagedPackage>> staging = new ArrayList<>();
            FileDigests digests = cache.digests();
            for (Lock.Package p : lock.packages()) {
                Path deb = debs.get(p.name());
                staging.add(() -> {
                    Map<String, String[]> known = digests.read(p.sha256()).orElse(null);
                    StagedPackage s = StagedPackage.stage(p.name(), p.version(), p.sha256(), deb, unpacks, known);
                    if (known == null) {
                        digests.write(p.sha256(), s.items());
                    }
                    return s;
                });
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
            List<Item> base = SystemFiles.base(stack.user(), BASE_TIME);
            Map<String, List<Item>> contents = hardening.settle(applied, base);
            List<String> kilnFiles = new ArrayList<>();
            List<Item> kilnItems = new ArrayList<>();
            for (StagedPackage s : staged.values()) {
                List<Item> kept = new ArrayList<>(contents.get(s.name()));
                // dated by the package's own files: the layer depends on nothing but the package
                long packageTime = s.items().stream().mapToLong(Item::mtime).max().orElse(BASE_TIME);
                List<Item> status = SystemFiles.status(s, kept, packageTime);
                status.forEach(i -> kilnFiles.add("/" + i.path()));
                kilnItems.addAll(status);
                kept.addAll(status);
                contents.put(s.name(), kept);
            }

            Map<String, Long> sizes = new LinkedHashMap<>();
            lock.packages().forEach(p -> sizes.put(p.name(), p.size()));
            LayerPlan plan = LayerPlan.plan(sizes, maxLayers, largeBytes);

            base.stream().filter(i -> i.type() != Item.Type.DIRECTORY).forEach(i -> {
                kilnFiles.add("/" + i.path());
                kilnItems.add(i);
            });
            Rootfs fs = new Rootfs();
            base.forEach(fs::add);
            List<List<Item>> groupItems = new ArrayList<>();
            for (LayerPlan.Group group : plan.groups()) {
                List<Item> items = new ArrayList<>();
                group.packages().forEach(n -> items.addAll(contents.get(n)));
                items.forEach(fs::add);
                groupItems.add(items);
            }
            List<Item> derived = SystemFiles.derived(fs);
            derived.forEach(fs::add);

            Verifier.Result verified = Verifier.verify(fs, stack, ImageEnv.of(stack, lock));
            if (!verified.problems().isEmpty()) {
                int n = verified.problems().size();
                throw new ImageException(stack.name() + ": the image fails " + n + " check" + (n == 1 ? "" : "s") + ": "
                        + verified.problems().get(0) + (n > 1 ? " (and " + (n - 1) + " more)" : ""), verified.problems());
            }

            List<Callable<Composition.Layer>> writes = new ArrayList<>();
            writes.add(() -> cache.layer("kiln-base", List.of(), base));
            for (int i = 0; i < plan.groups().size(); i++) {
                LayerPlan.Group group = plan.groups().get(i);
                List<Item> items = groupItems.get(i);
                writes.add(() -> cache.layer(group.name(), group.packages(), items));
            }
            if (!derived.isEmpty()) {
                writes.add(() -> cache.layer("kiln-derived", List.of(), derived));
            }
            List<Composition.Layer> layers = all(pool, writes);
            cache.prune();
            unpacks.prune();
            List<String> generated = derived.stream().filter(i -> i.type() != Item.Type.DIRECTORY).map(i -> "/" + i.path()).toList();
            kilnFiles.addAll(generated);
            derived.stream().filter(i -> i.type() != Item.Type.DIRECTORY).forEach(kilnItems::add);
            Map<String, Item> files = new java.util.HashMap<>();
            fs.items().stream().filter(i -> i.type() == Item.Type.FILE).forEach(i -> files.put(i.path(), i));
            List<Composition.FileEntry> kilnEntries = kilnItems.stream().map(i -> entry(i, files))
                    .sorted(java.util.Comparator.comparing(Composition.FileEntry::path)).toList();
            return new Composition(layers, Instant.ofEpochSecond(created), hardening.report(verified, generated),
                    packages(lock, staged, contents, plan, layers, files), kilnFiles.stream().sorted().toList(), kilnEntries);
        } finally {
            pool.shutdownNow();
        }
    }

    /** A non-directory item as an SBOM entry: a hardlink carries its target's digests. */
    private static Composition.FileEntry entry(Item item, Map<String, Item> files) {
        String path = "/" + item.path();
        return switch (item.type()) {
            case SYMLINK -> new Composition.FileEntry(path, null, null, item.link());
            case HARDLINK -> {
                Item target = files.get(item.link());
                yield target == null ? new Composition.FileEntry(path, null, null, null)
                        : new Composition.FileEntry(path, target.content().sha1(), target.content().sha256(), null);
            }
            default -> new Composition.FileEntry(path, item.content().sha1(), item.content().sha256(), null);
        };
    }

    private static List<Composition.Package> packages(Lock lock, Map<String, StagedPackage> staged, Map<String, List<Item>> contents,
                                                      LayerPlan plan, List<Composition.Layer> layers, Map<String, Item> fsFiles) {
        Map<String, String> layerOf = new LinkedHashMap<>();
        for (int i = 0; i < plan.groups().size(); i++) {
            for (String name : plan.groups().get(i).packages()) {
                layerOf.put(name, layers.get(i + 1).digest());
            }
        }
        List<Composition.Package> out = new ArrayList<>();
        for (Lock.Package p : lock.packages()) {
            StagedPackage s = staged.get(p.name());
            Map<String, String> control = s.control().fields();
            String source = control.getOrDefault("Source", p.name());
            String sourceVersion = p.version();
            int paren = source.indexOf(" (");
            if (paren > 0 && source.endsWith(")")) {
                sourceVersion = source.substring(paren + 2, source.length() - 1);
                source = source.substring(0, paren);
            }
            List<String> files = new ArrayList<>();
            List<Composition.FileEntry> entries = new ArrayList<>();
            String copyright = null;
            String docLink = null;
            for (Item item : contents.get(p.name())) {
                if (item.type() == Item.Type.DIRECTORY || item.path().startsWith("var/lib/dpkg/status.d/")) {
                    continue;
                }
                files.add("/" + item.path());
                entries.add(entry(item, fsFiles));
                if (item.type() == Item.Type.FILE && item.path().equals("usr/share/doc/" + p.name() + "/copyright")) {
                    copyright = text(item);
                } else if (item.type() == Item.Type.SYMLINK && item.path().equals("usr/share/doc/" + p.name())) {
                    docLink = item.link();
                }
            }
            if (copyright == null && docLink != null) {
                // packages built from one source often point their doc directory at a sibling's (libstdc++6 → gcc-14-base)
                String dir = docLink.startsWith("/") ? StagedPackage.normalize(docLink) : "usr/share/doc/" + StagedPackage.normalize(docLink);
                Item shared = fsFiles.get(dir + "/copyright");
                copyright = shared == null ? null : text(shared);
            }
            files.sort(null);
            entries.sort(java.util.Comparator.comparing(Composition.FileEntry::path));
            out.add(new Composition.Package(p.name(), p.version(), control.getOrDefault("Architecture", p.architecture()), p.sha256(),
                    source, sourceVersion, control.get("Maintainer"), control.get("Homepage"), layerOf.get(p.name()), files, copyright,
                    entries));
        }
        return out;
    }

    /** A copyright file's text (the first 1 MiB: enough for every licence header Debian ships). */
    private static String text(Item item) {
        try {
            return new String(item.content().read(0, (int) Math.min(item.size(), 1 << 20)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
