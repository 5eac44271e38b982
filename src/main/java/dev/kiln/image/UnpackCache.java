package dev.kiln.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Packages unpacked once: each verified {@code .deb}'s control.tar and data.tar, decompressed, kept
 * under the .deb's SHA-256 ({@code HEX.control.tar}, {@code HEX.data.tar}). Decompressing (xz,
 * mostly) is most of a cold build's work; with the unpacked tars kept, a rebuild after one package
 * changed decompresses that package alone, and file contents are read in place from the data tar.
 * The files are written under temporary names and moved into place, data last, so a crash never leaves
 * a half-written entry that looks complete. Entries unused for {@code keep} are removed.
 */
public final class UnpackCache {

    private static final Logger log = LoggerFactory.getLogger(UnpackCache.class);
    private static final Duration PRUNE_EVERY = Duration.ofHours(1);

    private final Path dir;
    private final Duration keep;
    private final Clock clock;
    private final NativeXz nativeXz;
    private final AtomicReference<Instant> lastPrune = new AtomicReference<>(Instant.EPOCH);

    /** @param nativeXz decode xz data members with the xz program when it runs here (xz-java otherwise); same bytes either way */
    public UnpackCache(Path dir, Duration keep, Clock clock, boolean nativeXz) {
        this(dir, keep, clock, nativeXz ? NativeXz.ON_PATH : null);
    }

    /** @param nativeXz the xz program to try first, or null for xz-java alone */
    UnpackCache(Path dir, Duration keep, Clock clock, NativeXz nativeXz) {
        this.dir = dir;
        this.keep = keep;
        this.clock = clock;
        this.nativeXz = nativeXz;
    }

    /** The package unpacked: from the cache, or unpacked now (refused, and nothing kept, when it is malformed). */
    DebFile.Unpacked unpack(Path deb, String sha256, String label) {
        return unpack(deb, sha256, label, (read, kept) -> kept);
    }

    /**
     * The package unpacked and checked by {@code stage}, which reads the tars at its first argument and
     * refers to them by the second, where they are kept. From the cache both are the cached tars; a
     * package unpacked now is read from temporary files that are moved into the cache only once
     * {@code stage} returned, so a package refused while staging (a device node, a path above the root)
     * leaves nothing behind.
     */
    <T> T unpack(Path deb, String sha256, String label, BiFunction<DebFile.Unpacked, DebFile.Unpacked, T> stage) {
        if (!sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException(label + ": not a SHA-256: " + sha256);
        }
        DebFile.Unpacked cached = new DebFile.Unpacked(dir.resolve(sha256 + ".control.tar"), dir.resolve(sha256 + ".data.tar"));
        if (Files.exists(cached.dataTar()) && Files.exists(cached.controlTar())) {
            try {
                Files.setLastModifiedTime(cached.dataTar(), FileTime.from(clock.instant()));
            } catch (IOException e) {
                // a missed touch only makes the entry look older to the pruner
            }
            return stage.apply(cached, cached);
        }
        try {
            Files.createDirectories(dir);
            DebFile.Unpacked tmp = new DebFile.Unpacked(Files.createTempFile(dir, ".control", ".tmp"), Files.createTempFile(dir, ".data", ".tmp"));
            try {
                DebFile.unpack(deb, label, tmp, nativeXz);
                T staged = stage.apply(tmp, cached);
                Files.move(tmp.controlTar(), cached.controlTar(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp.dataTar(), cached.dataTar(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return staged;
            } finally {
                Files.deleteIfExists(tmp.controlTar());
                Files.deleteIfExists(tmp.dataTar());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("unpacking " + label + " into " + dir, e);
        }
    }

    /** Removes packages no build used for {@code keep} (at most once an hour). */
    void prune() {
        Instant now = clock.instant();
        Instant last = lastPrune.get();
        if (now.isBefore(last.plus(PRUNE_EVERY)) || !lastPrune.compareAndSet(last, now) || !Files.isDirectory(dir)) {
            return;
        }
        Instant cutoff = now.minus(keep);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path data : files.filter(f -> f.getFileName().toString().endsWith(".data.tar")).toList()) {
                if (Files.getLastModifiedTime(data).toInstant().isBefore(cutoff)) {
                    String hex = data.getFileName().toString().substring(0, 64);
                    Files.deleteIfExists(data);
                    Files.deleteIfExists(dir.resolve(hex + ".control.tar"));
                }
            }
        } catch (IOException | RuntimeException e) {
            log.warn("pruning the unpacked packages in {}: {}", dir, e.toString());
        }
    }
}
