package dev.kiln.rebuild;

/** A stack that cannot be built as it stands (missing or stale lock, unavailable package). */
public final class BuildException extends RuntimeException {

    public BuildException(String message) {
        super(message);
    }

    public BuildException(String message, Throwable cause) {
        super(message, cause);
    }
}
