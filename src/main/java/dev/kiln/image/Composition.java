package dev.kiln.image;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A composed and verified root filesystem: its layers on disk, bottom first, and what was done to get
 * there. Nothing has been published yet.
 */
public record Composition(List<Layer> layers, Instant created, Report report, List<Package> packages, List<String> kilnFiles) {

    public Composition {
        layers = List.copyOf(layers);
        packages = List.copyOf(packages);
        kilnFiles = List.copyOf(kilnFiles);
    }

    /**
     * One package as it went into the image, for SBOMs: its control facts, the layer that carries it, the
     * paths it contributes (after hardening, absolute) and its copyright file's text when it ships one.
     */
    public record Package(String name, String version, String architecture, String sha256, String source, String sourceVersion,
                          String maintainer, String homepage, String layer, List<String> files, String copyright) {
        public Package {
            files = List.copyOf(files);
        }
    }

    /**
     * A gzip-compressed tar layer in the layer cache; {@code diffId} hashes the tar, {@code digest} the
     * compressed blob; {@code cached}: taken from the cache, not written by this build.
     */
    public record Layer(String name, List<String> packages, Path file, String diffId, String digest, long size,
                        long uncompressedSize, int entries, boolean cached) {
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
