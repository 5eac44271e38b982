package dev.kiln.image;

import com.github.luben.zstd.ZstdInputStream;
import dev.kiln.debian.Names;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
import org.apache.commons.compress.archivers.tar.TarFile;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.SeekableFileInputStream;
import org.tukaani.xz.SeekableXZInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Reads a {@code .deb} (an ar archive of debian-binary, control.tar.* and data.tar.*) in two steps.
 * {@link #unpack} decompresses the control and data members once into plain tar files (what the
 * {@link UnpackCache} keeps); {@link #read} then reads the control data and hands the caller every
 * data.tar entry with the offset of its bytes in the unpacked data tar, so nothing is copied again:
 * layers and checks read ranges of that file. An xz data member with several blocks (what dpkg-deb
 * writes for a large package) is decompressed block by block on every core.
 *
 * <p>A package is hostile until read: the members must come once each and in dpkg's order, the control
 * file must hold one stanza, and decompression is capped while it streams (control.tar at
 * {@link #CONTROL_MAX}; data.tar at twice the Installed-Size the package states plus 16 MiB, or
 * {@link #DATA_MAX} when it states none; an xz stream whose index states more is refused before a
 * byte is decoded, and an xz dictionary larger than {@link #XZ_MEMORY_KIB} KiB is refused), so a bomb
 * stops at the first byte over, before it fills a disk or the heap. The xz program, when it decodes a
 * data member ({@link NativeXz}), is held to the same caps, memory limit and format, and to a time bound.
 */
final class DebFile {

    static final long CONTROL_MAX = 16L << 20;
    static final long DATA_MAX = 8L << 30;
    /** Decoder memory for one xz stream: dpkg-deb's presets need 8 to 64 MiB. */
    static final int XZ_MEMORY_KIB = 256 << 10;
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ExecutorService POOL = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(r, "kiln-unpack");
        t.setDaemon(true);
        return t;
    });

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

    /** The two members of a package, decompressed into plain tar files. */
    record Unpacked(Path controlTar, Path dataTar) {
    }

    interface DataVisitor {
        /** {@code offset}: where the entry's bytes start in the unpacked data tar (meaningful for regular files). */
        void entry(TarArchiveEntry entry, long offset) throws IOException;
    }

    private DebFile() {
    }

    /**
     * Decompresses the package's control.tar and data.tar into {@code into}'s two files, refusing a malformed or
     * oversized package. An xz data member is decoded by {@code nativeXz} when given and available, else by xz-java.
     */
    static void unpack(Path deb, String label, Unpacked into, NativeXz nativeXz) {
        boolean control = false;
        boolean data = false;
        try (ArArchiveInputStream ar = new ArArchiveInputStream(new BufferedInputStream(Files.newInputStream(deb), 1 << 16))) {
            ArArchiveEntry member;
            boolean first = true;
            long installed = -1;
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
                    if (control || data) {
                        throw new ImageException(label + ": corrupt package: " + (data ? "control.tar after data.tar" : "a second control.tar")
                                + " (dpkg reads one control.tar, then one data.tar)");
                    }
                    // not closed: closing would close the ar stream the next member comes from
                    Files.copy(capped(decompress(ar, name, label), CONTROL_MAX, name, "16 MiB, Kiln's limit for control data", label),
                            into.controlTar(), StandardCopyOption.REPLACE_EXISTING);
                    control = true;
                    installed = installedSize(read(into, label, null).paragraph());
                } else if (name.startsWith("data.tar")) {
                    if (!control || data) {
                        throw new ImageException(label + ": corrupt package: " + (data ? "a second data.tar" : "data.tar before control.tar")
                                + " (dpkg reads one control.tar, then one data.tar)");
                    }
                    long max = installed < 0 ? DATA_MAX : Math.min(DATA_MAX, installed * 1024 * 2 + (16 << 20));
                    String why = installed < 0 ? "Kiln's limit for a package that states no Installed-Size"
                            : "twice the Installed-Size it states (" + installed + " KiB) plus 16 MiB";
                    if (name.endsWith(".xz")) {
                        xz(ar, into.dataTar(), max, name, why, label, nativeXz != null && nativeXz.available() ? nativeXz : null);
                    } else {
                        Files.copy(capped(decompress(ar, name, label), max, name, why, label), into.dataTar(), StandardCopyOption.REPLACE_EXISTING);
                    }
                    data = true;
                }
            }
        } catch (IOException | RuntimeException e) {
            throw refusal(e, label, deb);
        }
        if (!control || !data) {
            throw new ImageException(label + ": corrupt package " + deb.getFileName() + ": no " + (!control ? "control" : "data") + " member");
        }
    }

    /**
     * Reads an unpacked package: its control data, and (when {@code visitor} is given) every data.tar
     * entry in archive order with the offset of its bytes in the data tar.
     */
    static Control read(Unpacked unpacked, String label, DataVisitor visitor) {
        try {
            Control control;
            try (TarArchiveInputStream tar = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(unpacked.controlTar()), 1 << 16))) {
                control = control(tar, label);
            }
            if (visitor != null) {
                long size = Files.size(unpacked.dataTar());
                try (TarFile tar = new TarFile(unpacked.dataTar())) {
                    for (TarArchiveEntry entry : tar.getEntries()) {
                        if (entry.isFile() && entry.getDataOffset() + entry.getSize() > size) {
                            throw new ImageException(label + ": corrupt package: " + entry.getName() + " is truncated");
                        }
                        visitor.entry(entry, entry.getDataOffset());
                    }
                }
            }
            return control;
        } catch (IOException | RuntimeException e) {
            throw refusal(e, label, unpacked.dataTar());
        }
    }

    private static ImageException refusal(Exception e, String label, Path file) {
        if (e instanceof ImageException ie) {
            return ie;
        }
        if (e.getCause() instanceof ImageException ie) {
            return ie;
        }
        return new ImageException(label + ": corrupt package " + file.getFileName() + ": " + e.getMessage());
    }

    /**
     * An xz data member: its index says how large it decompresses (refused over {@code max} before a
     * byte is decoded) and where its blocks are; runs of consecutive blocks are decoded in parallel, each
     * straight to its place in the data tar. The compressed member is copied to a file first, since the ar
     * reader streams and the blocks need random access. With {@code nativeXz}, the xz program decodes the file
     * instead, its output capped the same way.
     */
    private static void xz(InputStream member, Path dataTar, long max, String name, String why, String label, NativeXz nativeXz)
            throws IOException {
        Path compressed = Files.createTempFile(dataTar.getParent(), ".member", ".xz");
        try {
            Files.copy(member, compressed, StandardCopyOption.REPLACE_EXISTING);
            int blocks;
            long total;
            try (SeekableXZInputStream xz = new SeekableXZInputStream(new SeekableFileInputStream(compressed.toFile()), XZ_MEMORY_KIB)) {
                blocks = xz.getBlockCount();
                total = xz.length();
            }
            if (total > max) {
                throw new ImageException(label + ": corrupt package: " + name + " decompresses to more than " + max + " bytes, " + why
                        + "; stopped there");
            }
            if (nativeXz != null) {
                try (InputStream in = capped(nativeXz.open(compressed, name), max, name, why, label)) {
                    Files.copy(in, dataTar, StandardCopyOption.REPLACE_EXISTING);
                }
                if (Files.size(dataTar) != total) {
                    throw new ImageException(label + ": corrupt package: " + name + " decompressed to " + Files.size(dataTar)
                            + " bytes, its index says " + total);
                }
                return;
            }
            if (blocks <= 1) {
                try (InputStream in = capped(xzStream(new BufferedInputStream(Files.newInputStream(compressed), 1 << 16)), max, name, why, label)) {
                    Files.copy(in, dataTar, StandardCopyOption.REPLACE_EXISTING);
                }
                return;
            }
            try (FileChannel out = FileChannel.open(dataTar, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                // one run of consecutive blocks per thread, each read through one reader: a reader per block read the
                // whole xz index again for every block, so a package of many tiny blocks cost the square of their number
                int runs = Math.min(blocks, THREADS);
                List<Future<Void>> decoded = new ArrayList<>();
                for (int r = 0; r < runs; r++) {
                    int first = (int) ((long) blocks * r / runs);
                    int last = (int) ((long) blocks * (r + 1) / runs) - 1;
                    decoded.add(POOL.submit(() -> {
                        blocks(compressed, first, last, out);
                        return null;
                    }));
                }
                try {
                    for (Future<Void> f : decoded) {
                        f.get();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while decompressing " + name);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                } finally {
                    decoded.forEach(f -> f.cancel(true));
                }
                if (out.size() != total) {
                    throw new ImageException(label + ": corrupt package: " + name + " decompressed to " + out.size() + " bytes, its index says "
                            + total);
                }
            }
        } finally {
            Files.deleteIfExists(compressed);
        }
    }

    /** Decodes blocks {@code first} to {@code last} of an xz file into their place; reading one byte on checks the last one's integrity check. */
    private static void blocks(Path compressed, int first, int last, FileChannel out) throws IOException {
        try (SeekableXZInputStream in = new SeekableXZInputStream(new SeekableFileInputStream(compressed.toFile()), XZ_MEMORY_KIB, true,
                new BasicArrayCache())) {
            in.seekToBlock(first);
            long position = in.getBlockPos(first);
            long size = in.getBlockPos(last) + in.getBlockSize(last) - position;
            byte[] buffer = new byte[1 << 16];
            long done = 0;
            while (done < size) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, size - done));
                if (n < 0) {
                    throw new EOFException("xz blocks " + first + " to " + last + " end after " + done + " of " + size + " bytes");
                }
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) {
                    out.write(chunk, position + done + chunk.position());
                }
                done += n;
            }
            in.read();
        }
    }

    /**
     * An xz stream under the decoder memory limit, its blocks' dictionaries taken from one cache: each
     * block would otherwise allocate (and zero) the dictionary its header declares, so a member of
     * thousands of tiny blocks each declaring a large one cost that allocation thousands of times.
     */
    static InputStream xzStream(InputStream in) throws IOException {
        return new XZInputStream(in, XZ_MEMORY_KIB, true, new BasicArrayCache());
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
            return xzStream(shielded);
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
                checkFields(paragraph, label);
            } else if (name.equals("md5sums")) {
                int number = 0;
                String sums = text(tar);
                for (String line : sums.isEmpty() ? new String[0] : sums.split("\n")) {
                    number++;
                    // copied into status.d for scanners: only what md5sum writes, a hex sum, two blanks, a path
                    if (!MD5SUMS_LINE.matcher(line).matches()) {
                        throw new ImageException(label + ": line " + number + " of md5sums, " + Names.quote(line)
                                + ", is not 'MD5  PATH'; refusing the package");
                    }
                    md5sums.put(line.substring(34), line.substring(0, 32));
                }
            }
        }
        if (paragraph == null) {
            throw new ImageException(label + ": control.tar has no control file");
        }
        return new Control(paragraph, md5sums);
    }

    /** Fields the status file's readers (dpkg, Trivy, Grype, Syft) look up by exact name; Kiln writes Status itself. */
    private static final java.util.Set<String> KEY_FIELDS = java.util.Set.of("Package", "Version", "Architecture", "Source", "Status",
            "Provides", "Depends", "Pre-Depends");
    private static final java.util.regex.Pattern MD5SUMS_LINE = java.util.regex.Pattern.compile("[0-9a-f]{32}  [^\\x00-\\x1f\\x7f]+");
    private static final java.util.regex.Pattern FIELD = java.util.regex.Pattern.compile("([!-9;-~][!-9;-~]*):.*");

    /**
     * The control paragraph as dpkg parses it, for what Kiln copies into status.d: every line a field or a
     * continuation, no control characters but tab, no field twice (dpkg refuses a duplicate; a scanner
     * would read the first, Kiln checked the last), the fields scanners look up spelled as dpkg writes
     * them (a scanner skips a "package:" stanza: a package hidden from it), and no Status of its own.
     */
    private static void checkFields(String paragraph, String label) {
        java.util.Map<String, String> seen = new java.util.HashMap<>();
        int number = 0;
        for (String line : paragraph.split("\n", -1)) {
            number++;
            String where = label + ": the control file's line " + number + " ";
            int bad = line.chars().filter(c -> c < 0x20 && c != '\t' || c == 0x7f).findFirst().orElse(-1);
            if (bad >= 0) {
                throw new ImageException(where + String.format("holds the control character \\x%02x", bad) + "; refusing the package");
            }
            if (number > 1 && (line.startsWith(" ") || line.startsWith("\t"))) {
                continue;
            }
            java.util.regex.Matcher m = FIELD.matcher(line);
            if (!m.matches() || line.startsWith("-") || line.startsWith("#")) {
                throw new ImageException(where + Names.quote(line) + " is neither a field nor a continuation; refusing the package");
            }
            String field = m.group(1);
            String first = seen.putIfAbsent(field.toLowerCase(java.util.Locale.ROOT), field);
            if (first != null) {
                throw new ImageException(where + "gives " + Names.quote(field) + " a second time (dpkg refuses a duplicate field); refusing the package");
            }
            String canonical = KEY_FIELDS.stream().filter(f -> f.equalsIgnoreCase(field)).findFirst().orElse(null);
            if ("Status".equals(canonical)) {
                throw new ImageException(where + "sets " + Names.quote(field) + ", which is dpkg's record of an installation, not a package's"
                        + " field; refusing the package");
            }
            if (canonical != null && !canonical.equals(field)) {
                throw new ImageException(where + "spells " + Names.quote(field) + ", which scanners read only as " + Names.quote(canonical)
                        + "; refusing the package");
            }
        }
    }

    private static String text(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        in.transferTo(bytes);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
