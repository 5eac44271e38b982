package dev.kiln.testing;

import dev.kiln.publish.Blob;
import dev.kiln.publish.Digests;
import dev.kiln.publish.Manifest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** A one-file OCI image assembled in memory: something real to push, sign and tamper with in tests. */
public final class TinyImage {

    private TinyImage() {
    }

    /** An image whose one layer holds {@code /hello} with {@code text}; different texts, different digests. */
    public static Manifest of(String text) {
        try {
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            try (TarArchiveOutputStream out = new TarArchiveOutputStream(tar)) {
                byte[] content = text.getBytes(StandardCharsets.UTF_8);
                TarArchiveEntry entry = new TarArchiveEntry("hello");
                entry.setSize(content.length);
                entry.setMode(0644);
                entry.setModTime(0);
                out.putArchiveEntry(entry);
                out.write(content);
                out.closeArchiveEntry();
            }
            ByteArrayOutputStream gz = new ByteArrayOutputStream();
            try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
                out.write(tar.toByteArray());
            }
            Blob layer = Blob.of(Manifest.OCI_LAYER_GZIP, gz.toByteArray());
            String config = """
                    {"architecture":"amd64","os":"linux","config":{"Entrypoint":["/hello"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}"""
                    .formatted(Digests.sha256(tar.toByteArray()));
            return Manifest.image(Blob.of(Manifest.OCI_CONFIG, config.getBytes(StandardCharsets.UTF_8)), List.of(layer), Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
