package dev.kiln;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where Kiln keeps things. {@code dataDir} holds caches (indexes, packages, layers) and the local image
 * store; {@code catalog} is the stack directory.
 *
 * @param mirrors archive URLs to fetch from somewhere else (a mirror, snapshot or proxy)
 */
@ConfigurationProperties("kiln")
public record KilnProperties(Path catalog, Path dataDir, List<Mirror> mirrors, Build build) {

    public KilnProperties {
        catalog = catalog == null ? Path.of("catalog") : catalog;
        dataDir = dataDir == null ? Path.of(System.getProperty("user.home"), ".kiln") : dataDir;
        mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
        build = build == null ? new Build(null, null, null, null) : build;
    }

    /**
     * How images are built and where they go.
     *
     * @param target             {@code local} (the OCI store under the data directory) or HOST[:PORT][/NAMESPACE]
     * @param maxLayers          the layer budget, Kiln's two layers included
     * @param largePackageBytes  a package this large (its .deb) gets a layer of its own
     * @param insecureRegistries registries that may be reached over plain HTTP (loopback always may)
     */
    public record Build(String target, Integer maxLayers, Long largePackageBytes, List<String> insecureRegistries) {
        public Build {
            target = target == null ? "local" : target;
            maxLayers = maxLayers == null ? 20 : maxLayers;
            largePackageBytes = largePackageBytes == null ? 1L << 20 : largePackageBytes;
            insecureRegistries = insecureRegistries == null ? List.of() : List.copyOf(insecureRegistries);
        }
    }

    /** Fetch everything under {@code archive} from {@code url} instead. */
    public record Mirror(String archive, String url) {
    }
}
