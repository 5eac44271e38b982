package dev.kiln.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The version-control facts of a catalog directory, read straight from its {@code .git} (no git
 * binary needed): the commit checked out and the origin's URL. Empty when the catalog is not in git.
 */
public record CatalogRevision(String commit, String origin) {

    public static Optional<CatalogRevision> of(Path catalog) {
        for (Path dir = catalog.toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
            Path git = dir.resolve(".git");
            if (Files.isDirectory(git)) {
                try {
                    return commit(git).map(c -> new CatalogRevision(c, origin(git)));
                } catch (IOException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<String> commit(Path git) throws IOException {
        String head = Files.readString(git.resolve("HEAD")).strip();
        if (!head.startsWith("ref: ")) {
            return Optional.of(head);
        }
        String ref = head.substring(5);
        Path loose = git.resolve(ref);
        if (Files.exists(loose)) {
            return Optional.of(Files.readString(loose).strip());
        }
        Path packed = git.resolve("packed-refs");
        if (Files.exists(packed)) {
            for (String line : Files.readAllLines(packed)) {
                if (line.endsWith(" " + ref)) {
                    return Optional.of(line.substring(0, line.indexOf(' ')));
                }
            }
        }
        return Optional.empty();
    }

    private static String origin(Path git) {
        try {
            boolean inOrigin = false;
            for (String line : Files.readAllLines(git.resolve("config"))) {
                String t = line.strip();
                if (t.startsWith("[")) {
                    inOrigin = t.equals("[remote \"origin\"]");
                } else if (inOrigin && t.startsWith("url")) {
                    return t.substring(t.indexOf('=') + 1).strip();
                }
            }
        } catch (IOException e) {
            // no config: no origin
        }
        return null;
    }
}
