package dev.kiln.debian;

import java.nio.file.Path;
import java.util.List;

/** Where a stack's packages come from: archives with their suites and components, one architecture, one keyring. */
public record Distribution(String architecture, Path keyring, List<Archive> archives) {

    public Distribution {
        archives = List.copyOf(archives);
    }

    /** One archive root (for example {@code http://deb.debian.org/debian}) and what to read from it. */
    public record Archive(String url, List<String> suites, List<String> components) {
        public Archive {
            url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            suites = List.copyOf(suites);
            components = List.copyOf(components);
        }
    }
}
