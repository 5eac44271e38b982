package dev.kiln.image;

import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Reads a {@code .deb} (an ar archive of debian-binary, control.tar.* and data.tar.*) in one streaming
 * pass. The control members are small and kept; data.tar is handed to the caller entry by entry.
 *
 * <p>A package is hostile until read: the members must come once each and in dpkg's order, the control
 * file must hold one stanza, and decompression is capped while it streams (control.tar at
 * {@link #CONTROL_MAX}; data.tar at twice the Installed-Size the package states plus 16 MiB, or
 * {@link #DATA_MAX} when it states none), so a bomb stops at the first byte over, before it fills a disk.
 */
final class DebFile {

    static final long CONTROL_MAX = 16L << 20;
    static final long DATA_MAX = 8L << 30;

    /** The control member's files that Kiln uses: {@code control} and {@code md5sums}. */
    record Control(String paragraph, Map<String, String> md5sums) {

        /** The paragraph's single-line fields ({@code Source}, {@code Architecture}, {@code Maintainer} ...). */
        Map<String, String> fields() {
            Map<String, String> out = new LinkedHashMap<>();
            for (String line : paragraph.split("\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !Character.isWhitespace(line.charAt(0))) {
                    out.put(line.substring(0, colon), line.substring(colon + 1).strip());
                }
            }
            return out;
        }
    }

    interface DataVisitor {
        void entry(TarArchiveEntry entry, InputStream content) throws IOException;
    }

    private DebFile() {
    }

    static Control read(Path deb, String label, DataVisitor visitor) {
        Control control = null;
        boolean data = false;
        try (ArArchiveInputStream ar = new ArArchiveInputStream(new BufferedInputStream(Files.newInputStream(deb), 1 << 16))) {
            ArArchiveEntry member;
            boolean first = true;
            while ((member = ar.getNextEntry()) != null) {
                String name = member.getName();
                if (first && !name.equals("debian-binary")) {
                    throw new ImageException(label + ": not a Debian package (first member is '" + name + "', not debian-binary)");
                }
                if (first) {
                    String version = new String(ar.readNBytes(16), StandardCharsets.US_ASCII);
                    if (!version.startsWith("2.")) {
                        throw new ImageException(label + ": debian-binary says format '" + version.strip() + "', not 2.x");
                    }
                }
                first = false;
                if (name.startsWith("control.tar")) {
                    if (control != null || data) {
                        throw new ImageException(label + ": corrupt package: " + (data ? "control.tar after data.tar" : "a second control.tar")
                                + " (dpkg reads one control.tar, then one data.tar)");
                    }
                    control = control(new TarArchiveInputStream(capped(decompress(ar, name, label), CONTROL_MAX, name,
                            "16 MiB, Kiln's limit for control data", label)), label);
                } else if (name.startsWith("data.tar")) {
                    if (control == null || data) {
                        throw new ImageException(label + ": corrupt package: " + (data ? "a second data.tar" : "data.tar before control.tar")
                                + " (dpkg reads one control.tar, then one data.tar)");
                    }
                    long installed = installedSize(control.paragraph());
                    long max = installed < 0 ? DATA_MAX : Math.min(DATA_MAX, installed * 1024 * 2 + (16 << 20));
                    String why = installed < 0 ? "Kiln's limit for a package that states no Installed-Size"
                            : "twice the Installed-Size it states (" + installed + " KiB) plus 16 MiB";
                    TarArchiveInputStream tar = new TarArchiveInputStream(capped(decompress(ar, name, label), max, name, why, label));
                    TarArchiveEntry entry;
                    while ((entry = tar.getNextEntry()) != null) {
                        visitor.entry(entry, tar);
                    }
                    data = true;
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageException ie) {
                throw ie;
            }
            if (e.getCause() instanceof ImageException ie) {
                throw ie;
            }
            throw new ImageException(label + ": corrupt package " + deb.getFileName() + ": " + e.getMessage());
        }
        if (control == null || !data) {
            throw new ImageException(label + ": corrupt package " + deb.getFileName() + ": no " + (control == null ? "control" : "data") + " member");
        }
        return control;
    }

    /** The Installed-Size field in KiB, or -1 when there is none (or it is not a number). */
    static long installedSize(String paragraph) {
        for (String line : paragraph.split("\n")) {
            if (line.regionMatches(true, 0, "Installed-Size:", 0, 15)) {
                String v = line.substring(15).strip();
                return v.matches("[0-9]{1,15}") ? Long.parseLong(v) : -1;
            }
        }
        return -1;
    }

    /** A stream that fails at the first byte past {@code max}: decompression bombs stop there. */
    private static InputStream capped(InputStream in, long max, String member, String why, String label) {
        return new java.io.FilterInputStream(in) {
            private long count;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, (int) Math.min(len, max + 1 - count));
                if (n > 0) {
                    count += n;
                    if (count > max) {
                        throw new IOException(new ImageException(label + ": corrupt package: " + member + " decompresses to more than " + max
                                + " bytes, " + why + "; stopped there"));
                    }
                }
                return n;
            }

            @Override
            public long skip(long n) throws IOException {
                return read(new byte[(int) Math.min(n, 1 << 16)], 0, (int) Math.min(n, 1 << 16));
            }
        };
    }

    private static InputStream decompress(InputStream in, String member, String label) throws IOException {
        InputStream shielded = new BufferedInputStream(in, 1 << 16);
        if (member.endsWith(".xz")) {
            return new XZInputStream(shielded);
        } else if (member.endsWith(".zst")) {
            return new ZstdInputStream(shielded);
        } else if (member.endsWith(".gz")) {
            return new GZIPInputStream(shielded, 1 << 16);
        } else if (member.endsWith(".tar")) {
            return shielded;
        }
        throw new ImageException(label + ": unsupported compression of member " + member);
    }

    private static Control control(TarArchiveInputStream tar, String label) throws IOException {
        String paragraph = null;
        Map<String, String> md5sums = new LinkedHashMap<>();
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            String name = StagedPackage.normalize(entry.getName());
            if (name.equals("control")) {
                if (paragraph != null) {
                    throw new ImageException(label + ": control.tar holds two control files");
                }
                paragraph = text(tar).strip();
                // a second stanza would be a second package's fields, read by scanners from status.d as this one's
                if (paragraph.replace("\r", "").matches("(?s).*\n[ \t]*\n.*")) {
                    throw new ImageException(label + ": the control file holds more than one stanza; a binary package's holds one");
                }
            } else if (name.equals("md5sums")) {
                for (String line : text(tar).split("\n")) {
                    if (line.length() > 34) {
                        md5sums.put(line.substring(34).strip(), line.substring(0, 32));
                    }
                }
            }
        }
        if (paragraph == null) {
            throw new ImageException(label + ": control.tar has no control file");
        }
        return new Control(paragraph, md5sums);
    }

    private static String text(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        in.transferTo(bytes);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
