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

    /**
     * The origin as a public source URL: only an {@code https}, {@code http}, {@code ssh} or {@code git}
     * URL, without its user information (a token in {@code https://user:token@host/...} never reaches an
     * image), query or fragment. A local path or an scp-style address is not a URL: empty.
     */
    public Optional<String> sourceUrl() {
        if (origin == null) {
            return Optional.empty();
        }
        try {
            java.net.URI uri = new java.net.URI(origin.strip());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!java.util.Set.of("https", "http", "ssh", "git").contains(scheme) || uri.getHost() == null || uri.getHost().isEmpty()) {
                return Optional.empty();
            }
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            return Optional.of(new java.net.URI(scheme, null, uri.getHost(), uri.getPort(), null, null, null) + path);
        } catch (java.net.URISyntaxException e) {
            return Optional.empty();
        }
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
