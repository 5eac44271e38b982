package dev.kiln.debian;

import java.time.Instant;

/**
 * The Release a resolution used: recorded in the lock so a reader knows how fresh the archive was.
 * {@code origin} is the Release's Origin field (null when absent); {@code inReleaseSha256} hashes the
 * signed InRelease exactly as fetched, so provenance can name the very file the packages were trusted from.
 */
public record SuiteRelease(String archiveUrl, String suite, String codename, String version, Instant date, Instant validUntil,
                           String origin, String inReleaseSha256) {
}
