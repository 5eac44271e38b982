package dev.kiln.debian;

import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** The verified content of a suite's InRelease: its dates and the SHA-256 of every index it lists. */
record ReleaseFile(String suite, String codename, String version, Instant date, Instant validUntil,
                   boolean acquireByHash, Map<String, Entry> sha256, String origin) {

    /** An index file listed in the Release: path relative to {@code dists/<suite>/}. */
    record Entry(String path, long size, String sha256) {
    }

    private static final DateTimeFormatter RFC2822 = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss z", Locale.ENGLISH);

    static ReleaseFile parse(String text, String what) {
        Map<String, String> fields = new HashMap<>();
        Map<String, Entry> sums = new HashMap<>();
        String current = null;
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if ("SHA256".equals(current)) {
                    String[] p = line.trim().split("\\s+");
                    if (p.length != 3) {
                        throw new DebianException(what + ": malformed SHA256 line '" + line.trim() + "'");
                    }
                    sums.put(p[2], new Entry(p[2], Long.parseLong(p[1]), p[0].toLowerCase(Locale.ROOT)));
                }
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new DebianException(what + ": malformed Release line '" + line + "'");
            }
            current = line.substring(0, colon);
            fields.put(current, line.substring(colon + 1).trim());
        }
        if (sums.isEmpty()) {
            throw new DebianException(what + ": the Release lists no SHA256 sums (refusing weaker hashes)");
        }
        String date = fields.get("Date");
        if (date == null) {
            throw new DebianException(what + ": the Release has no Date field");
        }
        return new ReleaseFile(fields.get("Suite"), fields.get("Codename"), fields.get("Version"),
                date(date, "Date", what), fields.containsKey("Valid-Until") ? date(fields.get("Valid-Until"), "Valid-Until", what) : null,
                "yes".equalsIgnoreCase(fields.get("Acquire-By-Hash")), Map.copyOf(sums), fields.get("Origin"));
    }

    private static Instant date(String value, String field, String what) {
        try {
            return ZonedDateTime.parse(value.replace("UTC", "GMT"), RFC2822).toInstant();
        } catch (DateTimeParseException e) {
            throw new DebianException(what + ": unreadable " + field + " '" + value + "'");
        }
    }

    /** Refuses a Release that has expired or is dated in the future, as apt does. */
    void checkFreshness(Instant now, String what) {
        if (validUntil != null && now.isAfter(validUntil)) {
            throw new DebianException(what + ": the Release expired at " + validUntil
                    + " (Valid-Until); the archive or mirror is stale or replaying an old Release");
        }
        if (date.isAfter(now.plusSeconds(600))) {
            throw new DebianException(what + ": the Release is dated " + date + ", in the future; check the clock");
        }
    }
}
