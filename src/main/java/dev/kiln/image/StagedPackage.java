package dev.kiln.image;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import dev.kiln.debian.Names;

/**
 * A package ready to compose: its control data and its entries in archive order, each regular file's
 * bytes a range of the package's unpacked data tar ({@link UnpackCache}); layers and checks read those
 * ranges in place.
 */
record StagedPackage(String name, String version, String sha256, DebFile.Control control, List<Item> items) {

    private static final HexFormat HEX = HexFormat.of();

    StagedPackage {
        items = List.copyOf(items);
    }

    static StagedPackage stage(String name, String version, String sha256, Path deb, UnpackCache unpacks) {
        return stage(name, version, sha256, deb, unpacks, null);
    }

    /**
     * @param known each regular file's {sha1, sha256} by path from an earlier staging of the same .deb, or
     *              null to hash the files (read in place from the unpacked data tar)
     */
    static StagedPackage stage(String name, String version, String sha256, Path deb, UnpackCache unpacks, Map<String, String[]> known) {
        String label = name + " " + version;
        // checked where it was unpacked, kept in the cache only once accepted: the items name the kept data tar
        return unpacks.unpack(deb, sha256, label, (unpacked, kept) -> stage(name, version, sha256, label, unpacked, kept.dataTar(), known));
    }

    private static StagedPackage stage(String name, String version, String sha256, String label, DebFile.Unpacked unpacked, Path keptDataTar,
                                       Map<String, String[]> known) {
        List<Item> items = new ArrayList<>();
        byte[] buffer = new byte[1 << 16];
        MessageDigest sha1 = Hashes.sha1();
        MessageDigest sha256sum = Hashes.sha256();
        java.util.Set<String> files = new java.util.HashSet<>();
        DebFile.Control control = DebFile.read(unpacked, label, (entry, offset) -> {
            String path = entryPath(entry.getName(), label);
            if (path.isEmpty()) {
                return; // the root itself ('./', or './tmp/..')
            }
            if (!KNOWN_TYPES.contains(entry.getLinkFlag()) || entry.isCharacterDevice() || entry.isBlockDevice() || entry.isFIFO()
                    || entry.isSparse()) {
                // checked first: commons-compress calls any entry that is not a directory a "file", so a device
                // node would otherwise become an empty regular file. Debian Policy 10.6 forbids them in packages
                throw new ImageException(label + ": data.tar entry " + Names.quote(entry.getName()) + " is " + kind(entry)
                        + "; a package may not ship device files, FIFOs or sockets (Debian Policy 10.6); refusing the package");
            }
            long mtime = entry.getModTime().toInstant().getEpochSecond();
            if (mtime < 0 || mtime > MAX_MTIME) {
                // a layer's tar header holds 11 octal digits: a larger time was cut to other digits, and the newest
                // file time dates the image (its "created", the provenance) when no SOURCE_DATE_EPOCH is set
                throw new ImageException(label + ": data.tar entry " + Names.quote(entry.getName()) + " is dated " + mtime
                        + " s from 1970, outside what a tar header holds (0 to " + MAX_MTIME + "); refusing the package");
            }
            int mode = entry.getMode() & 07777;
            Item item;
            if (entry.isDirectory()) {
                item = new Item(path, Item.Type.DIRECTORY, mode, (int) entry.getLongUserId(), (int) entry.getLongGroupId(), mtime, null, null);
            } else if (entry.isSymbolicLink()) {
                item = new Item(path, Item.Type.SYMLINK, 0777, 0, 0, mtime, linkTarget(entry, label), null);
            } else if (entry.isLink()) {
                String target = entryPath(entry.getLinkName(), label);
                if (!files.contains(target)) {
                    // tar (and so dpkg-deb) links only to a file it archived before; a link to anything else is another
                    // package's file (a layer of its own, where the link cannot be made) or a file that never comes
                    throw new ImageException(label + ": data.tar entry " + Names.quote(entry.getName()) + " is a hard link to "
                            + Names.quote(entry.getLinkName()) + ", which is not a regular file earlier in the package; refusing the package");
                }
                item = new Item(path, Item.Type.HARDLINK, mode, 0, 0, mtime, target, null);
            } else if (entry.isFile()) {
                files.add(path);
                String[] sums = known == null ? null : known.get(path);
                if (sums == null) {
                    sums = hash(unpacked.dataTar(), offset, entry.getSize(), buffer, sha1, sha256sum);
                }
                item = new Item(path, Item.Type.FILE, mode, (int) entry.getLongUserId(), (int) entry.getLongGroupId(), mtime, null,
                        Item.Content.staged(keptDataTar, offset, entry.getSize(), sums[0], sums[1]));
            } else {
                throw new ImageException(label + ": data.tar entry " + Names.quote(entry.getName()) + " is " + kind(entry)
                        + ", which Kiln does not read; refusing the package");
            }
            items.add(item);
        });
        checkIdentity(control.paragraph(), name, version, label);
        return new StagedPackage(name, version, sha256, control, items);
    }

    /** SHA-1 and SHA-256 (hex) of a range of the data tar, for the SBOMs. */
    private static String[] hash(Path file, long offset, long size, byte[] buffer, MessageDigest sha1, MessageDigest sha256)
            throws java.io.IOException {
        sha1.reset();
        sha256.reset();
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file)) {
            long done = 0;
            while (done < size) {
                java.nio.ByteBuffer chunk = java.nio.ByteBuffer.wrap(buffer, 0, (int) Math.min(buffer.length, size - done));
                int n = channel.read(chunk, offset + done);
                if (n < 0) {
                    throw new java.io.EOFException(file + ": ends inside a file at " + (offset + done));
                }
                sha1.update(buffer, 0, n);
                sha256.update(buffer, 0, n);
                done += n;
            }
        }
        return new String[] {HEX.formatHex(sha1.digest()), HEX.formatHex(sha256.digest())};
    }

    /**
     * A path relative to the root, resolved lexically everywhere: no {@code .}, {@code ..}, empty or
     * leading components ({@code ./usr//bin/bash/.} is {@code usr/bin/bash}; {@code ./tmp/..} is the
     * root, ""). A {@code ..} at the root stays at the root, as the kernel has it.
     */
    /** Tar types a package may use: regular (old and new), contiguous, hard link, symlink, directory. */
    private static final java.util.Set<Byte> KNOWN_TYPES = java.util.Set.of(org.apache.commons.compress.archivers.tar.TarConstants.LF_OLDNORM,
            org.apache.commons.compress.archivers.tar.TarConstants.LF_NORMAL, org.apache.commons.compress.archivers.tar.TarConstants.LF_CONTIG,
            org.apache.commons.compress.archivers.tar.TarConstants.LF_LINK, org.apache.commons.compress.archivers.tar.TarConstants.LF_SYMLINK,
            org.apache.commons.compress.archivers.tar.TarConstants.LF_DIR);

    static String normalize(String name) {
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(part);
            }
        }
        return String.join("/", parts);
    }

    /**
     * A data.tar entry's path (or hardlink target), normalised; refused when a {@code ..} would climb
     * above the root or it holds a control character (dpkg's file lists and md5sums are line-based).
     */
    static String entryPath(String name, String label) {
        int depth = 0;
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                if (--depth < 0) {
                    throw new ImageException(label + ": data.tar entry " + Names.quote(name) + " climbs above the root; refusing the package");
                }
            } else if (!part.isEmpty() && !part.equals(".")) {
                depth++;
            }
        }
        if (name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new ImageException(label + ": data.tar entry " + Names.quote(name) + " holds a control character; refusing the package");
        }
        String path = normalize(name);
        checkLength(path, name, "data.tar entry", label);
        return path;
    }

    /** Linux's PATH_MAX and NAME_MAX: a longer path cannot be extracted from the layer, and costs every path operation its length. */
    static final int PATH_MAX = 4095;
    /** The largest time a ustar header's 11 octal digits hold (the year 4147). */
    static final long MAX_MTIME = 077777777777L;
    static final int NAME_MAX = 255;

    private static void checkLength(String path, String raw, String what, String label) {
        int bytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > PATH_MAX) {
            throw new ImageException(label + ": " + what + " " + Names.quote(raw) + " is " + bytes + " bytes long, more than Linux's PATH_MAX ("
                    + PATH_MAX + "); refusing the package");
        }
        for (String part : path.split("/")) {
            if (part.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX) {
                throw new ImageException(label + ": " + what + " " + Names.quote(raw) + " has a name longer than Linux's NAME_MAX ("
                        + NAME_MAX + " bytes); refusing the package");
            }
        }
    }

    /** A symlink's target, kept as written (relative or absolute), under the same rules as a path. */
    private static String linkTarget(org.apache.commons.compress.archivers.tar.TarArchiveEntry entry, String label) {
        String target = entry.getLinkName();
        if (target.isEmpty() || target.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new ImageException(label + ": data.tar entry " + Names.quote(entry.getName()) + " is a symlink to " + Names.quote(target)
                    + (target.isEmpty() ? ", an empty target" : ", which holds a control character") + "; refusing the package");
        }
        checkLength(target, target, "data.tar entry " + Names.quote(entry.getName()) + " links to", label);
        return target;
    }

    private static String kind(org.apache.commons.compress.archivers.tar.TarArchiveEntry entry) {
        if (entry.isCharacterDevice()) {
            return "a character device";
        }
        if (entry.isBlockDevice()) {
            return "a block device";
        }
        if (entry.isFIFO()) {
            return "a FIFO";
        }
        if (entry.isSparse()) {
            return "a sparse file";
        }
        return "of tar type '" + (char) entry.getLinkFlag() + "'";
    }

    /** The control file must be this package's: the lock's name and version, or the .deb is some other package. */
    private static void checkIdentity(String paragraph, String name, String version, String label) {
        String pkg = null;
        String ver = null;
        for (String line : paragraph.split("\n")) {
            if (line.regionMatches(true, 0, "Package:", 0, 8)) {
                pkg = line.substring(8).strip();
            } else if (line.regionMatches(true, 0, "Version:", 0, 8)) {
                ver = line.substring(8).strip();
            }
        }
        if (!name.equals(pkg) || !version.equals(ver)) {
            throw new ImageException(label + ": the package's control file says " + (pkg == null ? "no Package" : "Package " + Names.quote(pkg))
                    + ", " + (ver == null ? "no Version" : "Version " + Names.quote(ver)) + "; refusing it");
        }
    }
}
