package dev.kiln.publish;

/** Publishing failed; nothing was tagged. The message names the reference and why. */
public final class PublishException extends RuntimeException {

    public PublishException(String message) {
        super(message);
    }

    public PublishException(String message, Throwable cause) {
        super(message, cause);
    }
}
