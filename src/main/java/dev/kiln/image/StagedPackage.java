package dev.kiln.image;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A package unpacked once: its control data, its entries in archive order, and the bytes of its regular
 * files laid end to end in one staging file. Decompressing a {@code .deb} is the slow part of a build,
 * so it happens once; layers and checks then read ranges of the staging file.
 */
record StagedPackage(String name, String version, String sha256, DebFile.Control control, List<Item> items) {

    private static final HexFormat HEX = HexFormat.of();

    StagedPackage {
        items = List.copyOf(items);
    }

    static StagedPackage stage(String name, String version, String sha256, Path deb, Path staging) {
        return stage(name, version, sha256, deb, staging, null);
    }

    /**
     * @param known each regular file's {sha1, sha256} by path from an earlier staging of the same .deb, or
     *              null to hash the files as they are copied
     */
    static StagedPackage stage(String name, String version, String sha256, Path deb, Path staging, Map<String, String[]> known) {
        String label = name + " " + version;
        List<Item> items = new ArrayList<>();
        long[] offset = {0};
        byte[] buffer = new byte[1 << 16];
        MessageDigest sha1 = Hashes.sha1();
        MessageDigest sha256sum = Hashes.sha256();
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(staging), 1 << 16)) {
            DebFile.Control control = DebFile.read(deb, label, (entry, content) -> {
                String path = normalize(entry.getName());
                if (path.isEmpty()) {
                    return;
                }
                long mtime = entry.getModTime().toInstant().getEpochSecond();
                int mode = entry.getMode() & 07777;
                Item item;
                if (entry.isDirectory()) {
                    item = new Item(path, Item.Type.DIRECTORY, mode, (int) entry.getLongUserId(), (int) entry.getLongGroupId(), mtime, null, null);
                } else if (entry.isSymbolicLink()) {
                    item = new Item(path, Item.Type.SYMLINK, 0777, 0, 0, mtime, entry.getLinkName(), null);
                } else if (entry.isLink()) {
                    item = new Item(path, Item.Type.HARDLINK, mode, 0, 0, mtime, normalize(entry.getLinkName()), null);
                } else if (entry.isFile()) {
                    String[] sums = known == null ? null : known.get(path);
                    long copied;
                    if (sums == null) {
                        sha1.reset();
                        sha256sum.reset();
                        copied = 0;
                        int n;
                        while ((n = content.read(buffer)) > 0) {
                            out.write(buffer, 0, n);
                            sha1.update(buffer, 0, n);
                            sha256sum.update(buffer, 0, n);
                            copied += n;
                        }
                        sums = new String[] {HEX.formatHex(sha1.digest()), HEX.formatHex(sha256sum.digest())};
                    } else {
                        copied = content.transferTo(out);
                    }
                    if (copied != entry.getSize()) {
                        throw new ImageException(label + ": corrupt package: " + path + " is truncated");
                    }
                    item = new Item(path, Item.Type.FILE, mode, (int) entry.getLongUserId(), (int) entry.getLongGroupId(), mtime, null,
                            Item.Content.staged(staging, offset[0], copied, sums[0], sums[1]));
                    offset[0] += copied;
                } else {
                    // device nodes and fifos have no place in an image; Debian packages do not ship them
                    return;
                }
                items.add(item);
            });
            return new StagedPackage(name, version, sha256, control, items);
        } catch (IOException e) {
            throw new UncheckedIOException("staging " + label + " into " + staging, e);
        }
    }

    static String normalize(String name) {
        String path = name;
        while (path.startsWith("./") || path.startsWith("/")) {
            path = path.startsWith("./") ? path.substring(2) : path.substring(1);
        }
        if (path.equals(".")) {
            return "";
        }
        return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }
}
