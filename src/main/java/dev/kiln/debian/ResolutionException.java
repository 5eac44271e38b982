package dev.kiln.debian;

import java.util.List;
import java.util.stream.Collectors;

/** Some requested packages cannot be installed; one failure per request (index -1: the set as a whole). */
public final class ResolutionException extends DebianException {

    public record Failure(int request, String message) {
    }

    private final List<Failure> failures;

    ResolutionException(List<Failure> failures) {
        super(failures.stream().map(Failure::message).collect(Collectors.joining("\n")));
        this.failures = List.copyOf(failures);
    }

    public List<Failure> failures() {
        return failures;
    }
}
