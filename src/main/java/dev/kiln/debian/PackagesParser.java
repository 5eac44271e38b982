package dev.kiln.debian;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Streams a Packages index (deb822 stanzas) into a {@link PackageIndex.Builder}. Works in place on a
 * read buffer: lines are found, not copied, the many fields Kiln does not keep (Description above all,
 * most of an index's bytes) are skipped without a look, and the kept ones go to the builder as byte
 * ranges, so a 57 MB index costs one pass and no string per field.
 */
final class PackagesParser {

    /** A stanza larger than this is not a Packages stanza; stops a broken stream from eating the heap. */
    private static final int MAX_STANZA = 16 << 20;

    static final int PACKAGE = 0;
    static final int VERSION = 1;
    static final int ARCHITECTURE = 2;
    static final int FILENAME = 3;
    static final int SIZE = 4;
    static final int SHA256 = 5;
    static final int PRIORITY = 6;
    static final int ESSENTIAL = 7;
    static final int MULTI_ARCH = 8;
    static final int PRE_DEPENDS = 9;
    static final int DEPENDS = 10;
    static final int PROVIDES = 11;
    static final int CONFLICTS = 12;
    static final int BREAKS = 13;
    static final int SECTION = 14;

    private static final String[] KEPT = {"Package", "Version", "Architecture", "Filename", "Size", "SHA256",
            "Priority", "Essential", "Multi-Arch", "Pre-Depends", "Depends", "Provides", "Conflicts", "Breaks", "Section"};
    private static final byte[][] KEPT_BYTES = Arrays.stream(KEPT).map(f -> f.getBytes(StandardCharsets.US_ASCII)).toArray(byte[][]::new);

    private final PackageRecord.Origin origin;

    PackagesParser(PackageRecord.Origin origin) {
        this.origin = origin;
    }

    /** One stanza as ranges of the read buffer; {@code start[f] < 0} when field f is absent. */
    static final class Stanza {
        byte[] buf;
        final int[] start = new int[KEPT.length];
        final int[] end = new int[KEPT.length];
        int line;
        boolean any;

        boolean has(int field) {
            return start[field] >= 0 && end[field] > start[field];
        }

        String text(int field) {
            return has(field) ? new String(buf, start[field], end[field] - start[field], StandardCharsets.UTF_8) : null;
        }

        boolean is(int field, byte[] value) {
            return end[field] - start[field] == value.length
                    && Arrays.equals(buf, start[field], end[field], value, 0, value.length);
        }

        void require(int field) {
            if (!has(field)) {
                throw new IllegalArgumentException("missing field " + KEPT[field] + (has(PACKAGE) ? " for package " + text(PACKAGE) : ""));
            }
        }

        /** A decimal field as a number. */
        long number(int field) {
            require(field);
            long value = 0;
            for (int i = start[field]; i < end[field]; i++) {
                int d = buf[i] - '0';
                if (d < 0 || d > 9 || value > (Long.MAX_VALUE - d) / 10) {
                    throw new IllegalArgumentException(KEPT[field] + " '" + text(field) + "' is not a number"
                            + (has(PACKAGE) ? " for package " + text(PACKAGE) : ""));
                }
                value = value * 10 + d;
            }
            return value;
        }

        private void clear() {
            Arrays.fill(start, -1);
            Arrays.fill(end, -1);
            line = 0;
            any = false;
        }

        private void shift(int by) {
            for (int f = 0; f < start.length; f++) {
                if (start[f] >= 0) {
                    start[f] -= by;
                    end[f] -= by;
                }
            }
        }
    }

    void parse(InputStream in, PackageIndex.Builder sink) throws IOException {
        int originId = sink.origin(origin);
        Stanza stanza = new Stanza();
        stanza.clear();
        byte[] buf = new byte[1 << 18];
        stanza.buf = buf;
        int limit = 0;
        int pos = 0;
        int stanzaStart = 0;
        int lineNo = 0;
        boolean eof = false;
        while (true) {
            int nl = lineEnd(buf, pos, limit);
            if (nl == limit && !eof) {
                if (stanzaStart > 0) {
                    // keep the open stanza, drop what is done with
                    System.arraycopy(buf, stanzaStart, buf, 0, limit - stanzaStart);
                    limit -= stanzaStart;
                    pos -= stanzaStart;
                    stanza.shift(stanzaStart);
                    stanzaStart = 0;
                } else if (limit == buf.length) {
                    if (buf.length >= MAX_STANZA) {
                        throw new IOException("the stanza at line " + (stanza.line > 0 ? stanza.line : lineNo + 1)
                                + " of the Packages index is longer than " + MAX_STANZA + " bytes");
                    }
                    buf = Arrays.copyOf(buf, buf.length * 2);
                    stanza.buf = buf;
                }
                int n = in.read(buf, limit, buf.length - limit);
                if (n < 0) {
                    eof = true;
                } else {
                    limit += n;
                }
                continue;
            }
            if (nl == limit && pos == limit) {
                break; // end of input on a line boundary
            }
            lineNo++;
            int end = nl;
            if (end > pos && buf[end - 1] == '\r') {
                end--;
            }
            if (end == pos) {
                emit(stanza, originId, sink);
                stanzaStart = nl + 1;
            } else if (buf[pos] != ' ' && buf[pos] != '\t') {
                // continuation lines belong to Description and friends, none of which is kept
                field(stanza, buf, pos, end, lineNo);
            }
            pos = nl + 1;
            if (nl == limit) {
                break;
            }
        }
        emit(stanza, originId, sink);
    }

    /** The position of the next newline, or {@code to}. Small on purpose: the JIT compiles it early, it is where the time goes. */
    private static int lineEnd(byte[] buf, int from, int to) {
        int i = from;
        while (i < to && buf[i] != '\n') {
            i++;
        }
        return i;
    }

    private static void field(Stanza stanza, byte[] buf, int from, int to, int lineNo) throws IOException {
        int colon = from;
        while (colon < to && buf[colon] != ':') {
            colon++;
        }
        if (colon == from || colon == to) {
            throw new IOException("line " + lineNo + " of the Packages index is not a 'Field: value' line");
        }
        int field = fieldId(buf, from, colon - from);
        if (field < 0) {
            return;
        }
        int start = colon + 1;
        int end = to;
        while (start < end && (buf[start] == ' ' || buf[start] == '\t')) {
            start++;
        }
        while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t')) {
            end--;
        }
        stanza.start[field] = start;
        stanza.end[field] = end;
        if (!stanza.any) {
            stanza.any = true;
            stanza.line = lineNo;
        }
    }

    /** The kept field a name denotes (field names are case-insensitive), or -1. */
    private static int fieldId(byte[] buf, int from, int length) {
        for (int f = 0; f < KEPT_BYTES.length; f++) {
            byte[] name = KEPT_BYTES[f];
            if (name.length != length) {
                continue;
            }
            int i = 0;
            while (i < length && (buf[from + i] | 0x20) == (name[i] | 0x20)) {
                i++;
            }
            if (i == length) {
                return f;
            }
        }
        return -1;
    }

    private static void emit(Stanza stanza, int originId, PackageIndex.Builder sink) throws IOException {
        if (!stanza.any) {
            return;
        }
        try {
            stanza.require(PACKAGE);
            stanza.require(VERSION);
            String badVersion = DebianVersion.problem(stanza.buf, stanza.start[VERSION], stanza.end[VERSION]);
            if (badVersion != null) {
                throw new IllegalArgumentException(badVersion); // here, so the message names the stanza
            }
            stanza.require(ARCHITECTURE);
            stanza.require(FILENAME);
            stanza.require(SHA256);
            long size = stanza.number(SIZE);
            sink.add(stanza, originId, size);
        } catch (IllegalArgumentException e) {
            throw new IOException("stanza at line " + stanza.line + " of the Packages index: " + e.getMessage(), e);
        } finally {
            stanza.clear();
        }
    }
}
