package dev.kiln.debian;

import java.time.Instant;

/** The Release a resolution used: recorded in the lock so a reader knows how fresh the archive was. */
public record SuiteRelease(String archiveUrl, String suite, String codename, String version, Instant date, Instant validUntil) {
}
