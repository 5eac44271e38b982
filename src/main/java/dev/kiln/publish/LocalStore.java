package dev.kiln.publish;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Kiln's default target: one OCI image layout under the data directory, blobs shared by every image,
 * each tag an entry of {@code index.json} named {@code REPOSITORY:TAG}. skopeo reads it as
 * {@code oci:DIR:REPOSITORY:TAG}. Updates take a file lock and replace index.json atomically.
 */
final class LocalStore {

    static final String REF_NAME = "org.opencontainers.image.ref.name";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final java.util.concurrent.ConcurrentMap<Path, Object> WRITERS = new java.util.concurrent.ConcurrentHashMap<>();

    private final Path dir;

    LocalStore(Path dir) {
        this.dir = dir;
    }

    Optional<String> digest(String reference) {
        return manifest(index(), reference).map(m -> m.get("digest").asString());
    }

    /**
     * Copies the missing blobs of a jib OCI archive in and names its manifest; returns bytes written.
     * The file lock keeps other processes out; it is held per JVM, so threads of this one (the service
     * builds several stacks at once) queue on a monitor first.
     */
    long put(Path archive, String reference) {
        synchronized (WRITERS.computeIfAbsent(dir.toAbsolutePath().normalize(), d -> new Object())) {
            return putLocked(archive, reference);
        }
    }

    private long putLocked(Path archive, String reference) {
        try {
            Files.createDirectories(dir.resolve("blobs/sha256"));
            try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = channel.lock()) {
                long written = 0;
                JsonNode archiveIndex = null;
                try (TarArchiveInputStream tar = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16))) {
                    TarArchiveEntry entry;
                    while ((entry = tar.getNextEntry()) != null) {
                        String name = entry.getName();
                        if (name.startsWith("blobs/sha256/") && entry.isFile()) {
                            Path blob = dir.resolve(name);
                            if (!Files.exists(blob)) {
                                Path tmp = Files.createTempFile(blob.getParent(), ".blob", ".tmp");
                                Files.copy(tar, tmp, StandardCopyOption.REPLACE_EXISTING);
                                Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE);
                                written += entry.getSize();
                            }
                        } else if (name.equals("index.json")) {
                            archiveIndex = JSON.readTree(tar.readAllBytes());
                        }
                    }
                }
                if (archiveIndex == null || archiveIndex.path("manifests").size() != 1) {
                    throw new IllegalStateException(archive + ": not a single-image OCI archive");
                }
                ObjectNode descriptor = (ObjectNode) archiveIndex.get("manifests").get(0).deepCopy();
                descriptor.putObject("annotations").put(REF_NAME, reference);
                ObjectNode index = index();
                ArrayNode manifests = index.withArray("manifests");
                for (int i = manifests.size() - 1; i >= 0; i--) {
                    if (reference.equals(manifests.get(i).path("annotations").path(REF_NAME).asString(""))) {
                        manifests.remove(i);
                    }
                }
                manifests.add(descriptor);
                Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
                Path tmp = Files.createTempFile(dir, ".index", ".tmp");
                Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
                Files.move(tmp, dir.resolve("index.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return written;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + reference + " into the local store " + dir, e);
        }
    }

    private ObjectNode index() {
        Path file = dir.resolve("index.json");
        if (!Files.exists(file)) {
            ObjectNode index = JSON.createObjectNode();
            index.put("schemaVersion", 2);
            index.put("mediaType", "application/vnd.oci.image.index.v1+json");
            index.putArray("manifests");
            return index;
        }
        try {
            return (ObjectNode) JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<JsonNode> manifest(ObjectNode index, String reference) {
        for (JsonNode m : index.path("manifests")) {
            if (reference.equals(m.path("annotations").path(REF_NAME).asString(""))) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }
}
