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

    /** Copies the missing blobs of a jib OCI archive in and names its manifest; returns bytes written. */
    long put(Path archive, String reference) {
        return locked("writing " + reference + " into", () -> {
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
                writeIndex(index);
                return written;
        });
    }

    /**
     * Removes every tag of {@code repository} that names {@code digest}, then the blobs no remaining
     * image uses. Returns the number of tags removed (0: already gone).
     */
    int remove(String repository, String digest) {
        return locked("removing " + repository + "@" + digest + " from", () -> {
            ObjectNode index = index();
            ArrayNode manifests = index.withArray("manifests");
            int removed = 0;
            for (int i = manifests.size() - 1; i >= 0; i--) {
                JsonNode m = manifests.get(i);
                if (m.path("annotations").path(REF_NAME).asString("").startsWith(repository + ":") && digest.equals(m.path("digest").asString())) {
                    manifests.remove(i);
                    removed++;
                }
            }
            if (removed > 0) {
                writeIndex(index);
                collectGarbage(index);
            }
            return removed;
        });
    }

    /** Deletes the blobs that no manifest of the index refers to (manifests, configs, layers). */
    private void collectGarbage(ObjectNode index) throws IOException {
        java.util.Set<String> used = new java.util.HashSet<>();
        for (JsonNode m : index.path("manifests")) {
            String manifest = m.path("digest").asString();
            used.add(manifest);
            JsonNode body = JSON.readTree(Files.readString(blob(manifest)));
            used.add(body.path("config").path("digest").asString());
            body.path("layers").forEach(l -> used.add(l.path("digest").asString()));
        }
        try (java.util.stream.Stream<Path> blobs = Files.list(dir.resolve("blobs/sha256"))) {
            for (Path b : blobs.toList()) {
                if (!b.getFileName().toString().startsWith(".") && !used.contains("sha256:" + b.getFileName())) {
                    Files.deleteIfExists(b);
                }
            }
        }
    }

    private Path blob(String digest) {
        return dir.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
    }

    private void writeIndex(ObjectNode index) throws IOException {
        Path tmp = Files.createTempFile(dir, ".index", ".tmp");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        Files.move(tmp, dir.resolve("index.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private interface StoreWork<T> {
        T run() throws IOException;
    }

    /**
     * Runs a change of the store under its file lock, which keeps other processes out; the lock is
     * held per JVM, so threads of this one (the service builds several stacks at once) queue on a
     * monitor first.
     */
    private <T> T locked(String what, StoreWork<T> work) {
        synchronized (WRITERS.computeIfAbsent(dir.toAbsolutePath().normalize(), d -> new Object())) {
            try {
                Files.createDirectories(dir.resolve("blobs/sha256"));
                try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = channel.lock()) {
                    return work.run();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(what + " the local store " + dir + ": " + e.getMessage(), e);
            }
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
