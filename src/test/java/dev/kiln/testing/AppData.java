package dev.kiln.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * A stack of one data package, {@code app-data}, whose every new version makes a new image: quick to
 * build, so tests can build many (the signing tests build one per scenario).
 */
public final class AppData {

    private final TestArchive repo;
    private final Path work;
    private int version;

    public AppData(TestArchive repo, Path work) {
        this.repo = repo;
        this.work = work;
    }

    /** The stack file's text: {@code app-data} from the archive, into {@code golden/app}, keeping only the newest {@code keepLast}. */
    public String stack(String description, int keepLast) {
        return stack(description, keepLast, 30);
    }

    /** As {@link #stack(String, int)}, keeping pulled images for {@code keepPulledDays}. */
    public String stack(String description, int keepLast, int keepPulledDays) {
        return repo.stackHead(description) + """
                packages: [app-data]
                target:
                  repository: golden/app
                retention:
                  keepLast: %d
                  keepDays: 0
                  keepPulledDays: %d
                """.formatted(keepLast, keepPulledDays);
    }

    /** Publishes the next version of app-data (1.0, 2.0 ...) in the archive's stable suite; returns its number. */
    public int next() {
        version++;
        try {
            Path tree = Files.createDirectories(work.resolve("app-data-" + version).resolve("usr/share/app"));
            Files.writeString(tree.resolve("VERSION"), "version " + version + "\n");
            repo.deb("stable", "app-data", version + ".0", work.resolve("app-data-" + version));
            repo.publish("stable", Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(7)));
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
