package dev.kiln.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Composed, compressed layers by the exact recipe of their entries: every path, type, mode, owner, time
 * and link, and each file's content by the package it comes from (the .deb's SHA-256, an offset and a
 * size) or by the hash of the bytes Kiln generated. Equal recipes give equal tar bytes, so a hit is
 * the layer itself; a rebuild writes only the layers whose packages (or the settings that change
 * their files) changed. Blobs sit in {@code blobs/sha256/HEX}, named by their digest, and are never
 * changed; layers unused for {@code keep} are removed.
 */
public final class LayerCache {

    private static final Logger log = LoggerFactory.getLogger(LayerCache.class);
    /** Bumped whenever the tar or gzip bytes Kiln writes for the same entries change. */
    static final String FORMAT = "kiln-layer-2";
    private static final Duration PRUNE_EVERY = Duration.ofHours(1);

    private final Path dir;
    private final Duration keep;
    private final Clock clock;
    private final int level;
    private final FileDigests digests;
    private final AtomicReference<Instant> lastPrune = new AtomicReference<>(Instant.EPOCH);
    // builds in this JVM read and write layers while at most one prune runs
    private final java.util.concurrent.locks.ReadWriteLock pruning = new java.util.concurrent.locks.ReentrantReadWriteLock();

    /** @param level the gzip level of new layers (1, what go-containerregistry and so ko and apko use, to 9) */
    public LayerCache(Path dir, Duration keep, Clock clock, int level) {
        if (level < 1 || level > 9) {
            throw new IllegalArgumentException("gzip level " + level + ": expected 1 (fastest) to 9 (smallest)");
        }
        this.dir = dir;
        this.keep = keep;
        this.clock = clock;
        this.level = level;
        this.digests = new FileDigests(dir.resolve("digests"));
    }

    /** Each package's file digests, kept and pruned with the layers. */
    FileDigests digests() {
        return digests;
    }

    /** The layer for these entries: from the cache, or written now and kept. */
    Composition.Layer layer(String name, List<String> packages, List<Item> items) {
        pruning.readLock().lock();
        try {
            return cached(name, packages, items);
        } finally {
            pruning.readLock().unlock();
        }
    }

    private Composition.Layer cached(String name, List<String> packages, List<Item> items) {
        List<Item> ordered = LayerWriter.order(items);
        String key = key(ordered, level);
        Path index = dir.resolve("index").resolve(key);
        Optional<Composition.Layer> hit = read(index, name, packages);
        if (hit.isPresent()) {
            touch(index);
            return hit.get();
        }
        try {
            Files.createDirectories(dir.resolve("index"));
            Files.createDirectories(dir.resolve("blobs/sha256"));
            Path tmp = Files.createTempFile(dir.resolve("blobs/sha256"), ".layer", ".tmp");
            Composition.Layer written;
            try {
                written = LayerWriter.write(name, packages, ordered, level, tmp);
                Path blob = dir.resolve("blobs/sha256").resolve(written.digest().substring("sha256:".length()));
                Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                written = new Composition.Layer(name, packages, blob, written.diffId(), written.digest(), written.size(),
                        written.uncompressedSize(), written.entries(), false);
            } finally {
                Files.deleteIfExists(tmp);
            }
            Path indexTmp = Files.createTempFile(dir.resolve("index"), ".key", ".tmp");
            Files.writeString(indexTmp, written.digest() + " " + written.diffId() + " " + written.size() + " " + written.uncompressedSize()
                    + " " + written.entries() + "\n", StandardCharsets.UTF_8);
            Files.move(indexTmp, index, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("writing layer " + name + " into the layer cache " + dir, e);
        }
    }

    private Optional<Composition.Layer> read(Path index, String name, List<String> packages) {
        try {
            if (!Files.exists(index)) {
                return Optional.empty();
            }
            String[] f = Files.readString(index, StandardCharsets.UTF_8).strip().split(" ");
            if (f.length != 5 || !f[0].matches("sha256:[0-9a-f]{64}")) {
                return Optional.empty();
            }
            Path blob = dir.resolve("blobs/sha256").resolve(f[0].substring("sha256:".length()));
            long size = Long.parseLong(f[2]);
            if (!Files.exists(blob) || Files.size(blob) != size) {
                return Optional.empty();
            }
            return Optional.of(new Composition.Layer(name, packages, blob, f[1], f[0], size, Long.parseLong(f[3]), Integer.parseInt(f[4]), true));
        } catch (IOException | RuntimeException e) {
            log.debug("layer cache entry {} unreadable ({}); writing the layer again", index, e.toString());
            return Optional.empty();
        }
    }

    /** The recipe's hash: everything that decides the layer's bytes, and nothing else. */
    static String key(List<Item> ordered, int level) {
        MessageDigest sha = dev.kiln.image.Hashes.sha256();
        StringBuilder line = new StringBuilder(256);
        sha.update((FORMAT + " gzip-" + level + " block-" + ParallelGzip.BLOCK + "\n").getBytes(StandardCharsets.UTF_8));
        HexFormat hex = HexFormat.of();
        for (Item item : ordered) {
            line.setLength(0);
            line.append(item.path()).append('\0').append(item.type()).append('\0').append(item.mode()).append('\0')
                    .append(item.uid()).append(':').append(item.gid()).append('\0').append(item.mtime()).append('\0')
                    .append(item.link() == null ? "" : item.link()).append('\0');
            Item.Content c = item.content();
            if (c != null) {
                if (c.bytes() != null) {
                    line.append("bytes:").append(hex.formatHex(dev.kiln.image.Hashes.sha256().digest(c.bytes())));
                } else {
                    // staging files are named by their package's SHA-256, so this names the exact bytes
                    line.append("staged:").append(c.file().getFileName()).append('@').append(c.offset()).append('+').append(c.size());
                }
            }
            line.append('\n');
            sha.update(line.toString().getBytes(StandardCharsets.UTF_8));
        }
        return hex.formatHex(sha.digest());
    }

    private void touch(Path index) {
        try {
            Files.setLastModifiedTime(index, FileTime.from(clock.instant()));
        } catch (IOException e) {
            // a missed touch only makes the layer look older to the pruner
        }
    }

    /** Removes layers no build used for {@code keep} (at most once an hour); a blob the local store links stays there. */
    void prune() {
        Instant now = clock.instant();
        Instant last = lastPrune.get();
        if (now.isBefore(last.plus(PRUNE_EVERY)) || !lastPrune.compareAndSet(last, now) || !Files.isDirectory(dir.resolve("index"))) {
            return;
        }
        pruning.writeLock().lock();
        try {
            prune(now.minus(keep));
        } finally {
            pruning.writeLock().unlock();
        }
    }

    private void prune(Instant cutoff) {
        java.util.Set<String> live = new java.util.HashSet<>();
        try (Stream<Path> keys = Files.list(dir.resolve("index"))) {
            digests.prune(cutoff);
            for (Path key : keys.toList()) {
                if (key.getFileName().toString().startsWith(".")) {
                    continue;
                }
                if (Files.getLastModifiedTime(key).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(key);
                } else {
                    live.add(Files.readString(key, StandardCharsets.UTF_8).split(" ")[0].substring("sha256:".length()));
                }
            }
            try (Stream<Path> blobs = Files.list(dir.resolve("blobs/sha256"))) {
                for (Path blob : blobs.toList()) {
                    String name = blob.getFileName().toString();
                    if (!name.startsWith(".") && !live.contains(name)) {
                        Files.deleteIfExists(blob);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            log.warn("pruning the layer cache {}: {}", dir, e.toString());
        }
    }
}
