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
 */
final class DebFile {

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
                first = false;
                if (name.startsWith("control.tar")) {
                    control = control(new TarArchiveInputStream(decompress(ar, name, label)), label);
                } else if (name.startsWith("data.tar")) {
                    TarArchiveInputStream tar = new TarArchiveInputStream(decompress(ar, name, label));
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
            throw new ImageException(label + ": corrupt package " + deb.getFileName() + ": " + e.getMessage());
        }
        if (control == null || !data) {
            throw new ImageException(label + ": corrupt package " + deb.getFileName() + ": no " + (control == null ? "control" : "data") + " member");
        }
        return control;
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
            String name = entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
            if (name.equals("control")) {
                paragraph = text(tar).strip();
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
