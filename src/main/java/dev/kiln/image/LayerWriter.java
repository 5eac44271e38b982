package dev.kiln.image;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Writes one layer as a gzip-compressed tar straight to disk, hashing both the tar (the diff ID) and
 * the compressed blob (the digest) on the way: nothing of a layer is held in memory beyond the few
 * blocks {@link ParallelGzip} has in flight.
 */
final class LayerWriter {

    private LayerWriter() {
    }

    /** Writes {@code ordered} (from {@link #order}) as a gzip-compressed tar to {@code file}. */
    static Composition.Layer write(String name, List<String> packages, List<Item> ordered, int level, Path file) {
        try {
            MessageDigest compressed = MessageDigest.getInstance("SHA-256");
            MessageDigest uncompressed = MessageDigest.getInstance("SHA-256");
            Counting counting = new Counting(new DigestOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16), compressed));
            OutputStream gzip = new java.io.BufferedOutputStream(new ParallelGzip(counting, level), 1 << 16);
            Counting tarBytes = new Counting(new DigestOutputStream(gzip, uncompressed));
            try (TarWriter tar = new TarWriter(tarBytes)) {
                for (Item item : ordered) {
                    tar.write(item);
                }
            }
            HexFormat hex = HexFormat.of();
            return new Composition.Layer(name, packages, file, "sha256:" + hex.formatHex(uncompressed.digest()),
                    "sha256:" + hex.formatHex(compressed.digest()), counting.count, tarBytes.count, ordered.size(), false);
        } catch (IOException e) {
            throw new UncheckedIOException("writing layer " + name + " to " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Sorted by path, with each missing parent directory added (root-owned, 0755, dated like the newest
     * entry, so a layer depends on nothing but its own entries), hardlinks after everything else so
     * their targets exist when they are extracted; one entry per path, the last wins. File times are the
     * packages' own: they are fixed by the .deb, so they need no clamping to be reproducible.
     */
    static List<Item> order(List<Item> items) {
        TreeMap<String, Item> byPath = new TreeMap<>();
        TreeMap<String, Item> hardlinks = new TreeMap<>();
        long newest = 0;
        for (Item item : items) {
            (item.type() == Item.Type.HARDLINK ? hardlinks : byPath).put(item.path(), item);
            newest = Math.max(newest, item.mtime());
        }
        Set<String> parents = new LinkedHashSet<>();
        for (String path : new ArrayList<>(byPath.keySet())) {
            collectParents(path, parents);
        }
        hardlinks.keySet().forEach(p -> collectParents(p, parents));
        for (String parent : parents) {
            byPath.putIfAbsent(parent, Item.directory(parent, 0755, newest));
        }
        List<Item> ordered = new ArrayList<>(byPath.values());
        ordered.addAll(hardlinks.values());
        return ordered;
    }

    private static void collectParents(String path, Set<String> parents) {
        for (String p = Rootfs.parent(path); !p.isEmpty(); p = Rootfs.parent(p)) {
            parents.add(p);
        }
    }

    private static final class Counting extends FilterOutputStream {
        long count;

        Counting(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
