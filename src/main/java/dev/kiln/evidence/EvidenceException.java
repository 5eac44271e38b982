package dev.kiln.evidence;

/** Evidence could not be made from the build's facts (a fact missing or inconsistent); the message says which. */
public class EvidenceException extends RuntimeException {

    public EvidenceException(String message) {
        super(message);
    }

    public EvidenceException(String message, Throwable cause) {
        super(message, cause);
    }
}
