package dev.kiln.debian;

/** A failure of the Debian capability, worded for the person running Kiln. */
public class DebianException extends RuntimeException {

    public DebianException(String message) {
        super(message);
    }

    public DebianException(String message, Throwable cause) {
        super(message, cause);
    }
}
