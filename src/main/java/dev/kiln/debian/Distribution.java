package dev.kiln.debian;

import java.nio.file.Path;
import java.util.List;

/**
 * Where a stack's packages come from: archives with their suites and components, one or more
 * architectures (each suite's one signed Release serves them all), one keyring.
 */
public record Distribution(List<String> architectures, Path keyring, List<Archive> archives) {

    public Distribution {
        architectures = List.copyOf(architectures);
        if (architectures.isEmpty()) {
            throw new IllegalArgumentException("a distribution needs an architecture");
        }
        archives = List.copyOf(archives);
    }

    public Distribution(String architecture, Path keyring, List<Archive> archives) {
        this(List.of(architecture), keyring, archives);
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
