package dev.kiln.debian;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * A merged index as Kiln parsed it: its compact records and lookup tables, saved so a warm lock reads
 * ~30 MB in one call instead of decompressing and parsing ~60 MB of Packages text again. Derived data,
 * keyed by the architecture and the SHA-256 of every index it was made from, and checked against its
 * own CRC32C (stored at its end) when read: a damaged snapshot is removed and the indexes are parsed
 * again. A checksum, not a signature: whoever can write the data directory can rewrite either.
 */
final class IndexSnapshot {

    private static final byte[] MAGIC = "KILN-IDX-5\n".getBytes(StandardCharsets.US_ASCII);

    private IndexSnapshot() {
    }

    static void write(Path file, PackageIndex index) throws IOException {
        PackageIndex.Parts parts = index.parts();
        Path tmp = Files.createTempFile(file.getParent(), ".snapshot-", ".tmp");
        try {
            CRC32C crc = new CRC32C();
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
                    new CheckedOutputStream(Files.newOutputStream(tmp), crc), 1 << 16))) {
                out.write(MAGIC);
                out.writeUTF(parts.architecture());
                out.writeInt(parts.suites().size());
                for (String suite : parts.suites()) {
                    out.writeUTF(suite);
                }
                out.writeInt(parts.origins().size());
                for (int i = 0; i < parts.origins().size(); i++) {
                    PackageRecord.Origin o = parts.origins().get(i);
                    out.writeUTF(o.archiveUrl());
                    out.writeUTF(o.suite());
                    out.writeUTF(o.component());
                    out.writeUTF(parts.sources().get(i));
                }
                out.writeInt(parts.data().length);
                out.write(parts.data());
                table(out, parts.byName());
                table(out, parts.providers());
            }
            Files.write(tmp, ByteBuffer.allocate(8).putLong(crc.getValue()).array(), java.nio.file.StandardOpenOption.APPEND);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void table(DataOutputStream out, Map<String, int[]> table) throws IOException {
        out.writeInt(table.size());
        for (Map.Entry<String, int[]> e : table.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeInt(e.getValue().length);
            for (int offset : e.getValue()) {
                out.writeInt(offset);
            }
        }
    }

    /** The index, or empty when there is no snapshot or it does not check out (it is then removed). */
    static Optional<PackageIndex> read(Path file) {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            // read whole and checked in one call: a CRC32C runs at memory speed even before the JIT has
            // compiled anything, where a SHA-256 over these ~30 MB took most of a warm lock
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length < MAGIC.length + 8) {
                throw new IOException("truncated");
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, bytes.length - 8);
            if (crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong()) {
                throw new IOException("checksum does not match");
            }
            ByteBuffer in = ByteBuffer.wrap(bytes, 0, bytes.length - 8);
            PackageIndex index = parse(in);
            if (in.hasRemaining()) {
                throw new IOException("trailing data");
            }
            return Optional.of(index);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the next write replaces it anyway
            }
            return Optional.empty();
        }
    }

    private static PackageIndex parse(ByteBuffer in) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        in.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a Kiln index snapshot");
        }
        String architecture = utf(in);
        List<String> suites = new ArrayList<>();
        for (int i = in.getInt(); i > 0; i--) {
            suites.add(utf(in));
        }
        List<PackageRecord.Origin> origins = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        for (int i = in.getInt(); i > 0; i--) {
            origins.add(new PackageRecord.Origin(utf(in), utf(in), utf(in)));
            sources.add(utf(in));
        }
        int dataLength = in.getInt();
        if (dataLength < 0 || dataLength > in.remaining()) {
            throw new IOException("bad data length");
        }
        byte[] data = new byte[dataLength];
        in.get(data);
        Map<String, int[]> byName = table(in, data.length);
        Map<String, int[]> providers = table(in, data.length);
        return new PackageIndex(new PackageIndex.Parts(architecture, suites, origins, sources, data, byName, providers));
    }

    private static Map<String, int[]> table(ByteBuffer in, int dataLength) throws IOException {
        int size = in.getInt();
        if (size < 0 || size > in.remaining()) {
            throw new IOException("bad table size");
        }
        Map<String, int[]> table = new HashMap<>(Math.max(16, size * 4 / 3 + 1));
        for (int i = 0; i < size; i++) {
            String name = utf(in);
            int count = in.getInt();
            if (count < 0 || count > in.remaining() / 4) {
                throw new IOException("bad record count");
            }
            int[] offsets = new int[count];
            for (int k = 0; k < offsets.length; k++) {
                offsets[k] = in.getInt();
                if (offsets[k] < 0 || offsets[k] >= dataLength) {
                    throw new IOException("record offset out of range");
                }
            }
            table.put(name, offsets);
        }
        return table;
    }

    /** A string as DataOutputStream.writeUTF wrote it (what Kiln writes there is ASCII, where the two encodings agree). */
    private static String utf(ByteBuffer in) {
        int length = in.getShort() & 0xffff;
        String s = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return s;
    }
}
