package dev.kiln.publish;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which repository of a registry Kiln last saw holding each blob, so a push to another repository can
 * mount the blob instead of uploading it (registries do not say where a blob is). Kept as one
 * append-only text file per registry under the data directory ({@code DIGEST REPOSITORY} per line); a
 * stale entry only costs a refused mount, after which the blob is uploaded.
 */
public final class BlobLocations {

    private static final Logger log = LoggerFactory.getLogger(BlobLocations.class);

    private final Path dir;
    private final Map<String, Map<String, String>> byRegistry = new ConcurrentHashMap<>();

    public BlobLocations(Path dir) {
        this.dir = dir;
    }

    /** Nothing remembered, nothing written: for tests and one-off targets. */
    public static BlobLocations none() {
        return new BlobLocations(null);
    }

    public Optional<String> find(String registry, String digest) {
        return Optional.ofNullable(registry(registry).get(digest));
    }

    public void remember(String registry, String digest, String repository) {
        Map<String, String> known = registry(registry);
        if (repository.equals(known.put(digest, repository)) || dir == null) {
            return;
        }
        synchronized (this) {
            try {
                Files.createDirectories(dir);
                Files.writeString(file(registry), Digests.check(digest) + " " + repository + "\n", StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                log.debug("could not remember {} in {}: {}", digest, repository, e.getMessage());
            }
        }
    }

    private Map<String, String> registry(String registry) {
        return byRegistry.computeIfAbsent(registry, r -> {
            Map<String, String> known = new ConcurrentHashMap<>();
            if (dir != null && Files.exists(file(r))) {
                try {
                    for (String line : Files.readAllLines(file(r), StandardCharsets.UTF_8)) {
                        int space = line.indexOf(' ');
                        if (space > 0 && Digests.valid(line.substring(0, space))) {
                            known.put(line.substring(0, space), line.substring(space + 1));
                        }
                    }
                } catch (IOException e) {
                    log.debug("could not read {}: {}", file(r), e.getMessage());
                }
            }
            return known;
        });
    }

    private Path file(String registry) {
        // a registry name is HOST[:PORT] as configured, never a path: keep only what a host can hold
        return dir.resolve(registry.replaceAll("[^A-Za-z0-9.-]", "_") + ".txt");
    }
}
