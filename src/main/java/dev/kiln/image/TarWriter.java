package dev.kiln.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal POSIX tar writer whose output depends only on the entries: numeric owners, empty user and
 * group names, long names in the ustar prefix or a PAX record. (commons-compress stamps its own long-name
 * headers with the running user's name, which would make digests differ between machines.)
 */
final class TarWriter implements AutoCloseable {

    private static final int BLOCK = 512;

    private final OutputStream out;

    TarWriter(OutputStream out) {
        this.out = out;
    }

    void write(Item item) throws IOException {
        String name = item.path() + (item.type() == Item.Type.DIRECTORY ? "/" : "");
        String link = item.type() == Item.Type.SYMLINK || item.type() == Item.Type.HARDLINK ? item.link() : "";
        long size = item.type() == Item.Type.FILE ? item.size() : 0;
        char type = switch (item.type()) {
            case FILE -> '0';
            case HARDLINK -> '1';
            case SYMLINK -> '2';
            case DIRECTORY -> '5';
        };
        String[] split = split(name);
        byte[] linkBytes = link.getBytes(StandardCharsets.UTF_8);
        if (split == null || linkBytes.length > 100 || size > 077777777777L) {
            StringBuilder pax = new StringBuilder();
            if (split == null) {
                pax.append(record("path", name));
            }
            if (linkBytes.length > 100) {
                pax.append(record("linkpath", link));
            }
            if (size > 077777777777L) {
                pax.append(record("size", Long.toString(size)));
            }
            byte[] body = pax.toString().getBytes(StandardCharsets.UTF_8);
            String paxName = "PaxHeaders/" + truncate(Rootfs.name(item.path()), 80);
            out.write(header(paxName, "", 0644, 0, 0, body.length, item.mtime(), 'x', ""));
            out.write(body);
            pad(body.length);
            if (split == null) {
                split = new String[] {"", truncate(name, 100)};
            }
        }
        out.write(header(split[1], split[0], item.mode() & 07777, item.uid(), item.gid(), size > 077777777777L ? 0 : size,
                item.mtime(), type, linkBytes.length > 100 ? "" : link));
        if (size > 0) {
            item.content().writeTo(out);
            pad(size);
        }
    }

    @Override
    public void close() throws IOException {
        out.write(new byte[BLOCK * 2]);
        out.close();
    }

    private void pad(long size) throws IOException {
        int rest = (int) (size % BLOCK);
        if (rest != 0) {
            out.write(new byte[BLOCK - rest]);
        }
    }

    /** {prefix, name} fitting ustar's 155 + 100 bytes, split at a slash; null when it cannot be. */
    private static String[] split(String path) {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= 100) {
            return new String[] {"", path};
        }
        if (bytes.length != path.length()) {
            return null; // non-ASCII: leave it to PAX rather than split inside a character
        }
        for (int i = path.length() - 1; i > 0; i--) {
            if (path.charAt(i) == '/' && i <= 155 && path.length() - i - 1 <= 100 && path.length() - i - 1 > 0) {
                return new String[] {path.substring(0, i), path.substring(i + 1)};
            }
        }
        return null;
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }

    private static String record(String key, String value) {
        String body = " " + key + "=" + value + "\n";
        int length = body.getBytes(StandardCharsets.UTF_8).length;
        int total = length + String.valueOf(length).length();
        if (String.valueOf(total).length() != String.valueOf(length).length()) {
            total = length + String.valueOf(total).length();
        }
        return total + body;
    }

    private static byte[] header(String name, String prefix, int mode, int uid, int gid, long size, long mtime, char type, String link) {
        byte[] h = new byte[BLOCK];
        put(h, 0, 100, name.getBytes(StandardCharsets.UTF_8));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, Math.max(0, mtime));
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        h[156] = (byte) type;
        put(h, 157, 100, link.getBytes(StandardCharsets.UTF_8));
        put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
        put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
        octal(h, 329, 8, 0);
        octal(h, 337, 8, 0);
        put(h, 345, 155, prefix.getBytes(StandardCharsets.UTF_8));
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] checksum = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(checksum, 0, h, 148, 8);
        return h;
    }

    private static void put(byte[] h, int at, int max, byte[] value) {
        System.arraycopy(value, 0, h, at, Math.min(max, value.length));
    }

    private static void octal(byte[] h, int at, int width, long value) {
        String digits = String.format("%0" + (width - 1) + "o", value);
        put(h, at, width - 1, digits.getBytes(StandardCharsets.US_ASCII));
        h[at + width - 1] = 0;
    }
}
