package dev.kiln.sign;

/**
 * Signing or checking evidence failed: a key that cannot be loaded or cannot sign, evidence missing from
 * a target, a signature that does not verify. The message names the key, image or artifact and why.
 */
public final class SignException extends RuntimeException {

    public SignException(String message) {
        super(message);
    }

    public SignException(String message, Throwable cause) {
        super(message, cause);
    }
}
