package dev.kiln.image;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A composed and verified root filesystem: its layers on disk, bottom first, and what was done to get
 * there. Nothing has been published yet.
 */
public record Composition(List<Layer> layers, Instant created, Report report) {

    public Composition {
        layers = List.copyOf(layers);
    }

    /** A gzip-compressed tar layer; {@code diffId} hashes the tar, {@code digest} the compressed blob. */
    public record Layer(String name, List<String> packages, Path file, String diffId, String digest, long size,
                        long uncompressedSize, int entries) {
        public Layer {
            packages = List.copyOf(packages);
        }
    }

    /**
     * The hardening and verification record kept with the build: what was stripped, removed (with why)
     * and tightened, how much was dropped, how many ELF files and library links were checked, the files
     * Kiln wrote, and the files left out of packages the image takes only a part of (the lock's
     * {@code only}).
     */
    public record Report(List<String> setuidStripped, List<String> removed, List<String> tightened, long droppedFiles,
                         long droppedBytes, int elfFiles, int librariesResolved, List<String> generated, List<String> trimmed) {
        public Report {
            setuidStripped = List.copyOf(setuidStripped);
            removed = List.copyOf(removed);
            tightened = List.copyOf(tightened);
            generated = List.copyOf(generated);
            trimmed = List.copyOf(trimmed);
        }
    }

    public long size() {
        return layers.stream().mapToLong(Layer::size).sum();
    }
}
