package dev.kiln.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The SHA-1 and SHA-256 of every regular file of a {@code .deb}, by its path in the package, kept under
 * {@code dir} by the package's own SHA-256 (which fixes every file's bytes). The SBOMs list each file with
 * both (SPDX requires SHA-1); hashing a JDK's 200 MB twice costs over a second, so a package's files are
 * hashed on its first staging only. A damaged entry is ignored and the package hashed again.
 */
final class FileDigests {

    private final Path dir;

    FileDigests(Path dir) {
        this.dir = dir;
    }

    /** path in the package → {sha1, sha256}, when this package was hashed before. */
    Optional<Map<String, String[]>> read(String debSha256) {
        Path file = dir.resolve(debSha256);
        try {
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            Map<String, String[]> out = new HashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ", 3);
                if (f.length != 3 || f[0].length() != 40 || f[1].length() != 64) {
                    return Optional.empty();
                }
                out.put(f[2], new String[] {f[0], f[1]});
            }
            Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
            return Optional.of(out);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Best effort: a list that cannot be written only costs the next build the hashing. */
    void write(String debSha256, List<Item> items) {
        StringBuilder text = new StringBuilder();
        for (Item item : items) {
            if (item.type() == Item.Type.FILE) {
                if (item.path().indexOf('\n') >= 0 || item.content().sha1() == null) {
                    return;
                }
                text.append(item.content().sha1()).append(' ').append(item.content().sha256()).append(' ').append(item.path()).append('\n');
            }
        }
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".digests", ".tmp");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                Files.move(tmp, dir.resolve(debSha256), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            // see above
        }
    }

    /** Removes the lists of packages no build staged since {@code cutoff}. */
    void prune(Instant cutoff) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                if (Files.getLastModifiedTime(file).toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }
}
