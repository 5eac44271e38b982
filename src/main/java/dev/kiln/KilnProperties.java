package dev.kiln;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where Kiln keeps things. {@code dataDir} holds caches (indexes, packages) and, later, the local image
 * store; {@code catalog} is the stack directory.
 *
 * @param mirrors archive URLs to fetch from somewhere else (a mirror, snapshot or proxy)
 */
@ConfigurationProperties("kiln")
public record KilnProperties(Path catalog, Path dataDir, List<Mirror> mirrors) {

    public KilnProperties {
        catalog = catalog == null ? Path.of("catalog") : catalog;
        dataDir = dataDir == null ? Path.of(System.getProperty("user.home"), ".kiln") : dataDir;
        mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
    }

    /** Fetch everything under {@code archive} from {@code url} instead. */
    public record Mirror(String archive, String url) {
    }
}
