package dev.kiln.debian;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Streams a Packages index (deb822 stanzas) and hands each binary package to a consumer. Works on raw
 * bytes and decodes only the fields it keeps, so a 56 MB index costs one pass and no copy of itself.
 */
final class PackagesParser {

    private static final int MAX_LINE = 1 << 20;

    private final PackageRecord.Origin origin;
    private final Map<String, String> interned = new HashMap<>();

    PackagesParser(PackageRecord.Origin origin) {
        this.origin = origin;
    }

    void parse(InputStream in, Consumer<PackageRecord> sink) throws IOException {
        Stanza stanza = new Stanza();
        byte[] buf = new byte[1 << 16];
        byte[] line = new byte[256];
        int lineLen = 0;
        int lineNo = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
            for (int i = 0; i < n; i++) {
                byte b = buf[i];
                if (b != '\n') {
                    if (lineLen == line.length) {
                        if (lineLen >= MAX_LINE) {
                            throw new IOException("line " + (lineNo + 1) + " of the Packages index is longer than " + MAX_LINE + " bytes");
                        }
                        line = java.util.Arrays.copyOf(line, lineLen * 2);
                    }
                    line[lineLen++] = b;
                    continue;
                }
                lineNo++;
                accept(stanza, line, lineLen, lineNo, sink);
                lineLen = 0;
            }
        }
        if (lineLen > 0) {
            accept(stanza, line, lineLen, ++lineNo, sink);
        }
        stanza.flush(sink, lineNo);
    }

    private void accept(Stanza stanza, byte[] line, int len, int lineNo, Consumer<PackageRecord> sink) throws IOException {
        if (len == 0 || (len == 1 && line[0] == '\r')) {
            stanza.flush(sink, lineNo);
            return;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            return; // continuation: only Description and Conffiles-like fields use it, none of which we keep
        }
        int colon = -1;
        for (int i = 0; i < len; i++) {
            if (line[i] == ':') {
                colon = i;
                break;
            }
        }
        if (colon <= 0) {
            throw new IOException("line " + lineNo + " of the Packages index is not a 'Field: value' line");
        }
        String field = fieldName(line, colon);
        if (field == null) {
            return;
        }
        int start = colon + 1;
        int end = len;
        while (start < end && (line[start] == ' ' || line[start] == '\t')) {
            start++;
        }
        while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r')) {
            end--;
        }
        stanza.fields.put(field, new String(line, start, end - start, StandardCharsets.UTF_8));
        stanza.start = stanza.start == 0 ? lineNo : stanza.start;
    }

    /** The kept fields, matched without allocating for the many we skip. */
    private static String fieldName(byte[] line, int colon) {
        for (String f : KEPT) {
            if (f.length() == colon && regionMatches(line, f)) {
                return f;
            }
        }
        return null;
    }

    private static boolean regionMatches(byte[] line, String f) {
        for (int i = 0; i < f.length(); i++) {
            if ((line[i] | 0x20) != (f.charAt(i) | 0x20)) {
                return false;
            }
        }
        return true;
    }

    private static final String[] KEPT = {"Package", "Version", "Architecture", "Filename", "Size", "SHA256",
            "Priority", "Essential", "Multi-Arch", "Pre-Depends", "Depends", "Provides", "Conflicts", "Breaks"};

    private String intern(String s) {
        return s == null ? null : interned.computeIfAbsent(s, k -> k);
    }

    private final class Stanza {
        final Map<String, String> fields = new HashMap<>();
        int start;

        void flush(Consumer<PackageRecord> sink, int lineNo) throws IOException {
            if (fields.isEmpty()) {
                return;
            }
            try {
                String name = require("Package");
                PackageRecord record = new PackageRecord(
                        name,
                        DebianVersion.parse(require("Version")),
                        intern(require("Architecture")),
                        origin,
                        require("Filename"),
                        Long.parseLong(require("Size")),
                        require("SHA256"),
                        intern(fields.get("Priority")),
                        "yes".equalsIgnoreCase(fields.get("Essential")),
                        intern(fields.get("Multi-Arch")),
                        fields.get("Pre-Depends"),
                        fields.get("Depends"),
                        fields.get("Provides"),
                        fields.get("Conflicts"),
                        fields.get("Breaks"));
                sink.accept(record);
            } catch (IllegalArgumentException e) {
                throw new IOException("stanza at line " + start + " of the Packages index: " + e.getMessage(), e);
            } finally {
                fields.clear();
                start = 0;
            }
        }

        private String require(String field) {
            String v = fields.get(field);
            if (v == null || v.isEmpty()) {
                throw new IllegalArgumentException("missing field " + field
                        + (fields.containsKey("Package") ? " for package " + fields.get("Package") : ""));
            }
            return v;
        }
    }
}
