package dev.kiln.debian;

import java.util.Objects;

/**
 * A Debian package version ({@code [epoch:]upstream[-revision]}), ordered exactly as dpkg orders it
 * (deb-version(7)): numeric epochs, then upstream and revision compared by alternating non-digit and
 * digit runs, where {@code ~} sorts before everything, even the end of the string, and letters sort
 * before other characters.
 */
public record DebianVersion(long epoch, String upstream, String revision) implements Comparable<DebianVersion> {

    public DebianVersion {
        Objects.requireNonNull(upstream, "upstream");
        Objects.requireNonNull(revision, "revision");
    }

    /** Parses a version string; rejects what dpkg would reject (empty, bad epoch, no leading digit is tolerated as dpkg does with a warning). */
    public static DebianVersion parse(String text) {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("empty version");
        }
        long epoch = 0;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            String e = s.substring(0, colon);
            if (e.isEmpty() || !e.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("bad epoch in version '" + text + "'");
            }
            epoch = Long.parseLong(e);
            s = s.substring(colon + 1);
        }
        int dash = s.lastIndexOf('-');
        String upstream = dash >= 0 ? s.substring(0, dash) : s;
        String revision = dash >= 0 ? s.substring(dash + 1) : "";
        if (upstream.isEmpty()) {
            throw new IllegalArgumentException("empty upstream version in '" + text + "'");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(Character.isLetterOrDigit(c) && c < 128) && ".+~-:".indexOf(c) < 0) {
                throw new IllegalArgumentException("invalid character '" + c + "' in version '" + text + "'");
            }
        }
        return new DebianVersion(epoch, upstream, revision);
    }

    @Override
    public int compareTo(DebianVersion other) {
        int c = Long.compare(epoch, other.epoch);
        if (c != 0) {
            return c;
        }
        c = compareFragment(upstream, other.upstream);
        return c != 0 ? c : compareFragment(revision, other.revision);
    }

    /** dpkg's verrevcmp. */
    static int compareFragment(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() || j < b.length()) {
            int firstDiff = 0;
            while ((i < a.length() && !isDigit(a.charAt(i))) || (j < b.length() && !isDigit(b.charAt(j)))) {
                int ac = i < a.length() ? order(a.charAt(i)) : 0;
                int bc = j < b.length() ? order(b.charAt(j)) : 0;
                if (ac != bc) {
                    return ac - bc;
                }
                i++;
                j++;
            }
            while (i < a.length() && a.charAt(i) == '0') {
                i++;
            }
            while (j < b.length() && b.charAt(j) == '0') {
                j++;
            }
            while (i < a.length() && isDigit(a.charAt(i)) && j < b.length() && isDigit(b.charAt(j))) {
                if (firstDiff == 0) {
                    firstDiff = a.charAt(i) - b.charAt(j);
                }
                i++;
                j++;
            }
            if (i < a.length() && isDigit(a.charAt(i))) {
                return 1;
            }
            if (j < b.length() && isDigit(b.charAt(j))) {
                return -1;
            }
            if (firstDiff != 0) {
                return firstDiff;
            }
        }
        return 0;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static int order(char c) {
        if (isDigit(c)) {
            return 0;
        }
        if (Character.isLetter(c)) {
            return c;
        }
        if (c == '~') {
            return -1;
        }
        return c + 256;
    }

    @Override
    public String toString() {
        return (epoch > 0 ? epoch + ":" : "") + upstream + (revision.isEmpty() ? "" : "-" + revision);
    }
}
