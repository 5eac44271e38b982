package dev.kiln.testing;

import java.io.ByteArrayOutputStream;
import java.util.zip.CRC32;

/**
 * Writes .xz files byte by byte (the .xz file format 1.2.1): blocks of stored LZMA2 chunks whose headers
 * declare any dictionary size, as many blocks as asked. xz and xz-java would have to allocate the
 * dictionary they declare to write one; a hostile mirror or package only writes the header.
 */
public final class XzForge {

    private XzForge() {
    }

    /**
     * {@code data} cut into blocks of {@code blockSize} bytes, each declaring the LZMA2 dictionary of
     * property byte {@code dictionary} (size {@code (2 | (p & 1)) << (p / 2 + 11)}: 31 is 192 MiB, 37 is 1.5 GiB).
     */
    public static byte[] xz(byte[] data, int blockSize, int dictionary) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] flags = {0, 0}; // no integrity check
        out.writeBytes(new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0});
        out.writeBytes(flags);
        le32(out, crc(flags));
        ByteArrayOutputStream index = new ByteArrayOutputStream();
        int records = 0;
        for (int at = 0; at < data.length; at += blockSize) {
            int n = Math.min(blockSize, data.length - at);
            byte[] header = {2, 0, 0x21, 1, (byte) dictionary, 0, 0, 0};
            out.writeBytes(header);
            le32(out, crc(header));
            int compressed = 0;
            for (int chunk = 0; chunk < n; chunk += 1 << 16) {
                int c = Math.min(1 << 16, n - chunk);
                out.write(chunk == 0 ? 1 : 2); // stored chunk: the first resets the dictionary
                out.write((c - 1) >> 8);
                out.write(c - 1);
                out.write(data, at + chunk, c);
                compressed += 3 + c;
            }
            out.write(0);
            compressed++;
            for (int pad = compressed; pad % 4 != 0; pad++) {
                out.write(0);
            }
            varint(index, 12 + compressed);
            varint(index, n);
            records++;
        }
        ByteArrayOutputStream indexField = new ByteArrayOutputStream();
        indexField.write(0);
        varint(indexField, records);
        indexField.writeBytes(index.toByteArray());
        while (indexField.size() % 4 != 0) {
            indexField.write(0);
        }
        byte[] indexBytes = indexField.toByteArray();
        out.writeBytes(indexBytes);
        le32(out, crc(indexBytes));
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        le32(footer, (indexBytes.length + 4) / 4 - 1);
        footer.writeBytes(flags);
        le32(out, crc(footer.toByteArray()));
        out.writeBytes(footer.toByteArray());
        out.writeBytes(new byte[] {'Y', 'Z'});
        return out.toByteArray();
    }

    /**
     * {@code xz} (one stream, from any encoder) with its index rewritten to say every block decodes to one
     * byte: a bomb that passes a check of the index, so only a cap on the decoded bytes stops it.
     */
    public static byte[] understated(byte[] xz) {
        int end = xz.length;
        long backward = (xz[end - 8] & 0xffL) | (xz[end - 7] & 0xffL) << 8 | (xz[end - 6] & 0xffL) << 16 | (xz[end - 5] & 0xffL) << 24;
        int indexStart = end - 12 - (int) ((backward + 1) * 4);
        int[] at = {indexStart + 1};
        long records = readVarint(xz, at);
        ByteArrayOutputStream indexField = new ByteArrayOutputStream();
        indexField.write(0);
        varint(indexField, records);
        for (long r = 0; r < records; r++) {
            varint(indexField, readVarint(xz, at));
            readVarint(xz, at);
            varint(indexField, 1);
        }
        while (indexField.size() % 4 != 0) {
            indexField.write(0);
        }
        byte[] indexBytes = indexField.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(xz, 0, indexStart);
        out.writeBytes(indexBytes);
        le32(out, crc(indexBytes));
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        le32(footer, (indexBytes.length + 4) / 4 - 1);
        footer.write(xz, 6, 2);
        le32(out, crc(footer.toByteArray()));
        out.writeBytes(footer.toByteArray());
        out.writeBytes(new byte[] {'Y', 'Z'});
        return out.toByteArray();
    }

    private static long readVarint(byte[] bytes, int[] at) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int b = bytes[at[0]++] & 0xff;
            v |= (long) (b & 0x7f) << shift;
            if (b < 0x80) {
                return v;
            }
        }
    }

    private static long crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }

    private static void le32(ByteArrayOutputStream out, long v) {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)));
        }
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while (v >= 0x80) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }
}
