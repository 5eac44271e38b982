package dev.kiln.image;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A composed and verified root filesystem: its layers on disk, bottom first, and what was done to get
 * there. Nothing has been published yet.
 */
public record Composition(List<Layer> layers, Instant created, Report report, List<Package> packages, List<String> kilnFiles,
                          List<FileEntry> kilnEntries) {

    public Composition {
        layers = List.copyOf(layers);
        packages = List.copyOf(packages);
        kilnFiles = List.copyOf(kilnFiles);
        kilnEntries = List.copyOf(kilnEntries);
    }

    public Composition(List<Layer> layers, Instant created, Report report, List<Package> packages, List<String> kilnFiles) {
        this(layers, created, report, packages, kilnFiles, List.of());
    }

    /**
     * One package as it went into the image, for SBOMs: its control facts, the layer that carries it, the
     * paths it contributes (after hardening, absolute), its copyright file's text (its own, or the one its
     * {@code /usr/share/doc/NAME} symlink points to) and each of those paths as an entry with digests.
     */
    public record Package(String name, String version, String architecture, String sha256, String source, String sourceVersion,
                          String maintainer, String homepage, String layer, List<String> files, String copyright,
                          List<FileEntry> entries) {
        public Package {
            files = List.copyOf(files);
            entries = List.copyOf(entries);
        }

        public Package(String name, String version, String architecture, String sha256, String source, String sourceVersion,
                       String maintainer, String homepage, String layer, List<String> files, String copyright) {
            this(name, version, architecture, sha256, source, sourceVersion, maintainer, homepage, layer, files, copyright, List.of());
        }
    }

    /**
     * A file or symlink in the image (absolute path): a regular file (a hardlink counts as one) with the
     * SHA-1 and SHA-256 of its bytes, or a symlink with its target and no digests.
     */
    public record FileEntry(String path, String sha1, String sha256, String link) {
        public boolean symlink() {
            return link != null;
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
     * The hardening and verification record kept with the build: what was stripped, removed (with why)
     * and tightened, how much was dropped, how many ELF files and library links were checked, the files
     * Kiln wrote, the files left out of packages the image takes only a part of (the lock's
     * {@code only}), and each check the image passed, in words.
     */
    public record Report(List<String> setuidStripped, List<String> removed, List<String> tightened, long droppedFiles,
                         long droppedBytes, int elfFiles, int librariesResolved, List<String> generated, List<String> trimmed,
                         List<String> checks) {
        public Report {
            setuidStripped = List.copyOf(setuidStripped);
            removed = List.copyOf(removed);
            tightened = List.copyOf(tightened);
            generated = List.copyOf(generated);
            trimmed = List.copyOf(trimmed);
            checks = List.copyOf(checks);
        }
    }

    public long size() {
        return layers.stream().mapToLong(Layer::size).sum();
    }
}
