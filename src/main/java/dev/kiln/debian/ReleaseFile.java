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
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if ("SHA256".equals(current)) {
                    Entry entry = entry(line.trim(), lineNo, what);
                    if (sums.put(entry.path(), entry) != null) {
                        throw new DebianException(what + ": line " + lineNo + " of the Release lists " + entry.path()
                                + " a second time; refusing the Release");
                    }
                }
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new DebianException(what + ": malformed Release line " + Names.quote(line));
            }
            current = line.substring(0, colon);
            if (fields.put(current, line.substring(colon + 1).trim()) != null) {
                // two Suite or Date fields: whichever a reader took, another would take the other
                throw new DebianException(what + ": line " + lineNo + " of the Release repeats the field " + Names.quote(current)
                        + "; refusing the Release");
            }
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

    /**
     * One SHA256 line: the hash and size must be exactly that, and the path must be an index path, since
     * the hash names a cache file and the path becomes part of a URL. A signed Release that breaks this
     * is refused whole: Debian's never does.
     */
    private static Entry entry(String line, int lineNo, String what) {
        String[] p = line.split("[ \t]+");
        String at = what + ": SHA256 line " + lineNo + " of the Release";
        if (p.length != 3) {
            throw new DebianException(at + " is not 'HASH SIZE PATH': " + Names.quote(line) + "; refusing the Release");
        }
        String sha = p[0].toLowerCase(Locale.ROOT);
        if (!Names.isSha256(sha)) {
            throw new DebianException(at + ": " + Names.quote(p[0]) + " is not a SHA-256 (64 hex digits); refusing the Release");
        }
        if (!p[1].matches("[0-9]{1,18}")) {
            throw new DebianException(at + ": size " + Names.quote(p[1]) + " is not a number of bytes; refusing the Release");
        }
        if (!Names.isIndexPath(p[2])) {
            throw new DebianException(at + ": " + Names.quote(p[2]) + " is not an index path (segments of letters, digits"
                    + " and ._+~@=- separated by '/', none '.' or '..'); refusing the Release");
        }
        return new Entry(p[2], Long.parseLong(p[1]), sha);
    }

    /**
     * Refuses a Release of another suite served under this one's name. Debian's key signs every suite,
     * so only the signed Suite and Codename can tell trixie's Release from bookworm's.
     */
    void checkSuite(String requested, String what) {
        if (!requested.equals(suite) && !requested.equals(codename)) {
            throw new DebianException(what + ": the InRelease is for Suite " + (suite == null ? "(none)" : Names.quote(suite))
                    + ", Codename " + (codename == null ? "(none)" : Names.quote(codename)) + ", not '" + requested
                    + "': another suite's Release served in its place; refusing it");
        }
    }

    private static Instant date(String value, String field, String what) {
        try {
            return ZonedDateTime.parse(value.replace("UTC", "GMT"), RFC2822).toInstant();
        } catch (DateTimeParseException e) {
            throw new DebianException(what + ": unreadable " + field + " " + Names.quote(value));
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
