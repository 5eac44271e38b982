package dev.kiln.debian;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A merged index as Kiln parsed it, saved in a compact binary form so a warm lock reads a few MB
 * instead of parsing ~100 MB of Packages text again. Derived data, keyed by the architecture and the
 * SHA-256 of every index it was made from, and checked against its own SHA-256 (stored at its end)
 * when read: a damaged or tampered snapshot is removed and the indexes are parsed again.
 */
final class IndexSnapshot {

    private static final byte[] MAGIC = "KILN-IDX-1\n".getBytes(StandardCharsets.US_ASCII);

    private IndexSnapshot() {
    }

    static void write(Path file, PackageIndex index) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), ".snapshot-", ".tmp");
        try {
            MessageDigest sha = sha256();
            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
                    new DigestOutputStream(Files.newOutputStream(tmp), sha), 1 << 16))) {
                out.write(MAGIC);
                out.writeUTF(index.architecture());
                out.writeInt(index.suites().size());
                for (String suite : index.suites()) {
                    out.writeUTF(suite);
                }
                Map<PackageRecord.Origin, Integer> origins = new HashMap<>();
                List<PackageRecord> all = new ArrayList<>();
                index.forEachVersion(all::add);
                for (PackageRecord p : all) {
                    origins.putIfAbsent(p.origin(), origins.size());
                }
                PackageRecord.Origin[] byId = new PackageRecord.Origin[origins.size()];
                origins.forEach((o, i) -> byId[i] = o);
                out.writeInt(byId.length);
                for (PackageRecord.Origin o : byId) {
                    out.writeUTF(o.archiveUrl());
                    out.writeUTF(o.suite());
                    out.writeUTF(o.component());
                }
                out.writeInt(all.size());
                for (PackageRecord p : all) {
                    text(out, p.name());
                    text(out, p.version().toString());
                    text(out, p.architecture());
                    out.writeInt(origins.get(p.origin()));
                    text(out, p.filename());
                    out.writeLong(p.size());
                    text(out, p.sha256());
                    text(out, p.priority());
                    out.writeBoolean(p.essential());
                    text(out, p.multiArch());
                    text(out, p.preDepends());
                    text(out, p.depends());
                    text(out, p.provides());
                    text(out, p.conflicts());
                    text(out, p.breaks());
                }
            }
            Files.write(tmp, sha.digest(), java.nio.file.StandardOpenOption.APPEND);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The index, or empty when there is no snapshot or it does not check out (it is then removed). */
    static Optional<PackageIndex> read(Path file) {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            long size = Files.size(file);
            MessageDigest sha = sha256();
            PackageIndex index;
            byte[] stored = new byte[32];
            try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                DataInputStream in = new DataInputStream(new DigestInputStream(new BoundedInput(raw, size - 32), sha));
                index = parse(in);
                if (in.read() != -1) {
                    throw new IOException("trailing data");
                }
                new DataInputStream(raw).readFully(stored);
            }
            if (!Arrays.equals(stored, sha.digest())) {
                throw new IOException("SHA-256 does not match");
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

    private static PackageIndex parse(DataInputStream in) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a Kiln index snapshot");
        }
        PackageIndex.Builder builder = PackageIndex.builder(in.readUTF());
        int suites = in.readInt();
        for (int i = 0; i < suites; i++) {
            builder.suite(in.readUTF());
        }
        PackageRecord.Origin[] origins = new PackageRecord.Origin[in.readInt()];
        for (int i = 0; i < origins.length; i++) {
            origins[i] = new PackageRecord.Origin(in.readUTF(), in.readUTF(), in.readUTF());
        }
        int count = in.readInt();
        Map<String, String> names = new HashMap<>(count * 2);
        for (int i = 0; i < count; i++) {
            String name = text(in);
            name = names.computeIfAbsent(name, n -> n);
            builder.add(new PackageRecord(name, DebianVersion.parse(text(in)), text(in), origins[in.readInt()], text(in), in.readLong(),
                    text(in), text(in), in.readBoolean(), text(in), text(in), text(in), text(in), text(in), text(in)));
        }
        return builder.build();
    }

    private static void text(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String text(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads at most {@code limit} bytes: the payload before the stored hash. */
    private static final class BoundedInput extends InputStream {
        private final InputStream in;
        private long left;

        BoundedInput(InputStream in, long limit) {
            this.in = in;
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(buf, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
