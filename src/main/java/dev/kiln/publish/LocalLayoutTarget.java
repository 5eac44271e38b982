package dev.kiln.publish;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Kiln's default target: one OCI image layout under the data directory, blobs shared by every image.
 * Each tag is an {@code index.json} entry named {@code REPOSITORY:TAG} ({@code skopeo} reads it as
 * {@code oci:DIR:REPOSITORY:TAG}) and carries the time it was pushed. Artifacts that refer to an image
 * (signatures, attestations) are entries without a name, annotated with their repository and subject,
 * which is how the layout records referrers. Blobs are hard links to the layer cache where the file
 * system allows, so a layer is on disk once. Changes take a file lock and replace index.json atomically.
 */
public final class LocalLayoutTarget implements ImageTarget {

    static final String REF_NAME = "org.opencontainers.image.ref.name";
    static final String PUSHED = "dev.kiln.pushed";
    static final String REPOSITORY = "dev.kiln.repository";
    static final String SUBJECT = "dev.kiln.subject";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final long MAX_MANIFEST = 4 << 20;
    private static final ConcurrentMap<Path, Object> WRITERS = new ConcurrentHashMap<>();

    private final Path dir;
    private final Clock clock;

    public LocalLayoutTarget(Path dir, Clock clock) {
        this.dir = dir.toAbsolutePath().normalize();
        this.clock = clock;
    }

    public Path directory() {
        return dir;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public String repository(String stackRepository) {
        return stackRepository;
    }

    @Override
    public String reference(String repository, String tag) {
        return "oci:store/" + repository + ":" + tag;
    }

    @Override
    public Optional<String> pullReference(String repository, String digest) {
        return Optional.empty();
    }

    @Override
    public Optional<String> tagged(String repository, String tag) {
        String name = repository + ":" + tag;
        for (JsonNode m : index().path("manifests")) {
            if (name.equals(m.path("annotations").path(REF_NAME).asString(""))) {
                return Optional.of(m.path("digest").asString());
            }
        }
        return Optional.empty();
    }

    @Override
    public Pushed push(String repository, Manifest manifest, List<String> tags) {
        return locked("writing " + repository + "@" + manifest.digest() + " into", () -> {
            int[] counts = new int[2];
            long written = copy(manifest, counts);
            ObjectNode index = index();
            ArrayNode manifests = index.withArray("manifests");
            String now = clock.instant().toString();
            for (String tag : tags) {
                String name = repository + ":" + tag;
                removeEntries(manifests, m -> name.equals(m.path("annotations").path(REF_NAME).asString("")));
                ObjectNode entry = entry(manifest);
                ((ObjectNode) entry.get("annotations")).put(REF_NAME, name).put(PUSHED, now);
                manifests.add(entry);
            }
            if (tags.isEmpty() && !untagged(manifests, repository, manifest.digest())) {
                ObjectNode entry = entry(manifest);
                ((ObjectNode) entry.get("annotations")).put(REPOSITORY, repository).put(PUSHED, now);
                manifests.add(entry);
            }
            writeIndex(index);
            return new Pushed(manifest.digest(), written, counts[0], 0, counts[1]);
        });
    }

    /** Copies the artifacts and records them as referrers of their subjects, under one lock, index.json written once. */
    @Override
    public List<Pushed> attach(String repository, List<Manifest> artifacts) {
        artifacts.forEach(Manifest::requireSubject);
        return locked("attaching " + artifacts.size() + " artifact(s) in " + repository + " to", () -> {
            ObjectNode index = index();
            ArrayNode manifests = index.withArray("manifests");
            String now = clock.instant().toString();
            List<Pushed> out = new ArrayList<>();
            boolean changed = false;
            for (Manifest artifact : artifacts) {
                int[] counts = new int[2];
                long written = copy(artifact, counts);
                if (!untagged(manifests, repository, artifact.digest())) {
                    ObjectNode entry = entry(artifact);
                    ((ObjectNode) entry.get("annotations")).put(REPOSITORY, repository).put(SUBJECT, artifact.subject().digest()).put(PUSHED, now);
                    manifests.add(entry);
                    changed = true;
                }
                out.add(new Pushed(artifact.digest(), written, counts[0], 0, counts[1]));
            }
            if (changed) {
                writeIndex(index);
            }
            return out;
        });
    }

    @Override
    public List<Descriptor> referrers(String repository, String digest) {
        List<Descriptor> out = new ArrayList<>();
        for (JsonNode m : index().path("manifests")) {
            JsonNode a = m.path("annotations");
            if (repository.equals(a.path(REPOSITORY).asString("")) && digest.equals(a.path(SUBJECT).asString(""))) {
                Manifest artifact = readManifest(m.path("digest").asString()).orElseThrow();
                out.add(artifact.descriptor());
            }
        }
        return out;
    }

    @Override
    public Optional<Manifest> manifest(String repository, String reference) {
        String digest = Digests.valid(reference) ? reference : tagged(repository, reference).orElse(null);
        return digest == null ? Optional.empty() : readManifest(digest);
    }

    @Override
    public InputStream blob(String repository, String digest, long maxBytes) {
        Path file = blobFile(digest);
        try {
            if (Files.size(file) > maxBytes) {
                throw new PublishException("local store: blob " + digest + " is larger than " + maxBytes + " bytes");
            }
            return Files.newInputStream(file);
        } catch (IOException e) {
            throw new PublishException("local store: no blob " + digest + " (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public List<Listed> images(String repository) {
        Map<String, List<String>> tags = new LinkedHashMap<>();
        Map<String, Instant> pushed = new LinkedHashMap<>();
        for (JsonNode m : index().path("manifests")) {
            String name = m.path("annotations").path(REF_NAME).asString("");
            if (name.startsWith(repository + ":") && name.indexOf(':', repository.length() + 1) < 0) {
                String digest = m.path("digest").asString();
                tags.computeIfAbsent(digest, d -> new ArrayList<>()).add(name.substring(repository.length() + 1));
                String at = m.path("annotations").path(PUSHED).asString("");
                if (!at.isEmpty()) {
                    Instant t = Instant.parse(at);
                    pushed.merge(digest, t, (a, b) -> a.isAfter(b) ? a : b);
                }
            }
        }
        List<Listed> out = new ArrayList<>();
        tags.forEach((digest, t) -> out.add(new Listed(digest, t, Optional.ofNullable(pushed.get(digest)), Optional.empty())));
        return out;
    }

    @Override
    public boolean pullTimesKnown() {
        return false;
    }

    @Override
    public Map<String, String> delete(String repository, List<String> digests) {
        return locked("removing images of " + repository + " from", () -> {
            ObjectNode index = index();
            ArrayNode manifests = index.withArray("manifests");
            Set<String> doomed = new HashSet<>(digests);
            // artifacts that refer to a deleted image go with it, and artifacts that refer to those
            boolean grew = true;
            while (grew) {
                grew = false;
                for (JsonNode m : manifests) {
                    JsonNode a = m.path("annotations");
                    if (repository.equals(a.path(REPOSITORY).asString("")) && doomed.contains(a.path(SUBJECT).asString(""))) {
                        grew |= doomed.add(m.path("digest").asString());
                    }
                }
            }
            int before = manifests.size();
            removeEntries(manifests, m -> doomed.contains(m.path("digest").asString())
                    && (m.path("annotations").path(REF_NAME).asString("").startsWith(repository + ":")
                    || repository.equals(m.path("annotations").path(REPOSITORY).asString(""))));
            if (manifests.size() != before) {
                writeIndex(index);
                collectGarbage(index);
            }
            return Map.of();
        });
    }

    /**
     * Copies the manifest's blobs, its child manifests and itself into the layout; returns bytes written.
     * {@code counts} counts blobs written and blobs already there (manifests are not counted, as a
     * registry push does not upload them as blobs).
     */
    private long copy(Manifest manifest, int[] counts) throws IOException {
        long written = 0;
        for (Manifest child : manifest.manifests()) {
            written += copy(child, counts);
        }
        for (Blob blob : manifest.blobs()) {
            written += put(blob.digest(), blob, counts);
        }
        written += put(manifest.digest(), Blob.of(manifest.mediaType(), manifest.bytes()), new int[2]);
        return written;
    }

    private long put(String digest, Blob blob, int[] counts) throws IOException {
        Path target = blobFile(digest);
        if (Files.exists(target)) {
            counts[1]++;
            return 0;
        }
        if (blob.file() != null) {
            try {
                Files.createLink(target, blob.file());
                counts[0]++;
                return blob.size();
            } catch (FileAlreadyExistsException e) {
                counts[1]++;
                return 0;
            } catch (IOException | UnsupportedOperationException e) {
                // another file system: copy below
            }
        }
        Path tmp = Files.createTempFile(target.getParent(), ".blob", ".tmp");
        try (InputStream in = blob.open()) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        counts[0]++;
        return blob.size();
    }

    private static ObjectNode entry(Manifest manifest) {
        Descriptor d = manifest.descriptor();
        ObjectNode entry = JSON.createObjectNode();
        entry.put("mediaType", d.mediaType());
        entry.put("digest", d.digest());
        entry.put("size", d.size());
        if (d.artifactType() != null) {
            entry.put("artifactType", d.artifactType());
        }
        entry.putObject("annotations");
        return entry;
    }

    private static boolean untagged(ArrayNode manifests, String repository, String digest) {
        for (JsonNode m : manifests) {
            if (digest.equals(m.path("digest").asString()) && repository.equals(m.path("annotations").path(REPOSITORY).asString(""))) {
                return true;
            }
        }
        return false;
    }

    private static void removeEntries(ArrayNode manifests, java.util.function.Predicate<JsonNode> match) {
        for (int i = manifests.size() - 1; i >= 0; i--) {
            if (match.test(manifests.get(i))) {
                manifests.remove(i);
            }
        }
    }

    private Optional<Manifest> readManifest(String digest) {
        Path file = blobFile(digest);
        try {
            if (!Files.exists(file) || Files.size(file) > MAX_MANIFEST) {
                return Optional.empty();
            }
            return Optional.of(Manifest.read(null, Files.readAllBytes(file), digest));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the blobs that nothing the index names refers to (manifests, indexes, configs, layers). */
    private void collectGarbage(ObjectNode index) throws IOException {
        Set<String> used = new HashSet<>();
        List<String> pending = new ArrayList<>();
        index.path("manifests").forEach(m -> pending.add(m.path("digest").asString()));
        while (!pending.isEmpty()) {
            String digest = pending.remove(pending.size() - 1);
            if (!used.add(digest)) {
                continue;
            }
            Optional<Manifest> manifest = readManifest(digest);
            manifest.ifPresent(m -> m.references().forEach(r -> {
                if (r.mediaType().equals(Manifest.OCI_MANIFEST) || r.mediaType().equals(Manifest.OCI_INDEX)) {
                    pending.add(r.digest());
                } else {
                    used.add(r.digest());
                }
            }));
        }
        try (var blobs = Files.list(dir.resolve("blobs/sha256"))) {
            for (Path b : blobs.toList()) {
                String name = b.getFileName().toString();
                if (!name.startsWith(".") && !used.contains("sha256:" + name)) {
                    Files.deleteIfExists(b);
                }
            }
        }
    }

    private Path blobFile(String digest) {
        return dir.resolve("blobs/sha256").resolve(Digests.check(digest).substring("sha256:".length()));
    }

    private void writeIndex(ObjectNode index) throws IOException {
        Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Path tmp = Files.createTempFile(dir, ".index", ".tmp");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        Files.move(tmp, dir.resolve("index.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private interface StoreWork<T> {
        T run() throws IOException;
    }

    /**
     * Runs a change under the layout's file lock, which keeps other processes out; the lock is held per
     * JVM, so threads of this one (the service builds several stacks at once) queue on a monitor first.
     */
    private <T> T locked(String what, StoreWork<T> work) {
        synchronized (WRITERS.computeIfAbsent(dir, d -> new Object())) {
            try {
                Files.createDirectories(dir.resolve("blobs/sha256"));
                try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = channel.lock()) {
                    return work.run();
                }
            } catch (IOException e) {
                throw new PublishException(what + " the local store " + dir + ": " + e.getMessage(), e);
            }
        }
    }

    private ObjectNode index() {
        Path file = dir.resolve("index.json");
        if (!Files.exists(file)) {
            ObjectNode index = JSON.createObjectNode();
            index.put("schemaVersion", 2);
            index.put("mediaType", Manifest.OCI_INDEX);
            index.putArray("manifests");
            return index;
        }
        try {
            return (ObjectNode) JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
