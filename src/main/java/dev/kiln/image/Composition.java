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
     * The hardening and verification record kept with the build: what was stripped, removed and
     * tightened, how much was dropped, and how many ELF files and library links were checked.
     */
    public record Report(List<String> setuidStripped, List<String> removed, List<String> tightened, long droppedFiles,
                         long droppedBytes, int elfFiles, int librariesResolved, List<String> generated) {
        public Report {
            setuidStripped = List.copyOf(setuidStripped);
            removed = List.copyOf(removed);
            tightened = List.copyOf(tightened);
            generated = List.copyOf(generated);
        }
    }

    public long size() {
        return layers.stream().mapToLong(Layer::size).sum();
    }
}
