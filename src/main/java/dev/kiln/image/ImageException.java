package dev.kiln.image;

import java.util.List;

/**
 * A stack that cannot become an image: a bad package file or a failed check. The message names the
 * package or file and what is wrong; {@link #problems()} lists every failed check, not just the first.
 */
public final class ImageException extends RuntimeException {

    private final List<String> problems;

    public ImageException(String message) {
        this(message, List.of(message));
    }

    public ImageException(String message, List<String> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
