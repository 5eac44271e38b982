package dev.kiln.publish;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** The plain tar files jib exchanges with Kiln: its base-image input and its OCI archive output. */
final class TarArchive {

    private TarArchive() {
    }

    /** Files (streamed from disk) and small text entries, in that order. */
    static void write(Path file, Map<String, Path> files, List<String[]> texts) throws IOException {
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Map.Entry<String, Path> e : files.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(Files.size(e.getValue()));
                tar.putArchiveEntry(entry);
                Files.copy(e.getValue(), tar);
                tar.closeArchiveEntry();
            }
            for (String[] text : texts) {
                byte[] bytes = text[1].getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry entry = new TarArchiveEntry(text[0]);
                entry.setSize(bytes.length);
                tar.putArchiveEntry(entry);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
    }

    /** Total size of the archive's blobs whose hex digest is not in {@code except}. */
    static long blobBytesExcept(Path archive, Set<String> except) throws IOException {
        long bytes = 0;
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = entry.getName();
                if (name.startsWith("blobs/sha256/") && !except.contains(name.substring("blobs/sha256/".length()))) {
                    bytes += entry.getSize();
                }
            }
        }
        return bytes;
    }
}
