package dev.kiln.publish;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Content known by its digest: a file on disk (a composed layer in the layer cache, never read into
 * memory) or a few bytes held in memory (a config, an SBOM, a signature bundle).
 */
public record Blob(Descriptor descriptor, Path file, byte[] bytes) {

    public Blob {
        if ((file == null) == (bytes == null)) {
            throw new IllegalArgumentException("a blob is either a file or bytes");
        }
        bytes = bytes == null ? null : bytes.clone();
    }

    public static Blob of(String mediaType, byte[] bytes) {
        return new Blob(Descriptor.of(mediaType, Digests.sha256(bytes), bytes.length), null, bytes);
    }

    /** A file whose digest and size the caller computed while writing it. */
    public static Blob file(String mediaType, String digest, long size, Path file) {
        return new Blob(Descriptor.of(mediaType, digest, size), file, null);
    }

    public String digest() {
        return descriptor.digest();
    }

    public long size() {
        return descriptor.size();
    }

    public InputStream open() throws IOException {
        return file != null ? Files.newInputStream(file) : new ByteArrayInputStream(bytes);
    }

    /** The bytes of an in-memory blob (a copy). */
    public byte[] bytes() {
        return bytes == null ? null : bytes.clone();
    }
}
