package dev.kiln.debian;

import java.nio.charset.StandardCharsets;
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
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        String problem = problem(bytes, 0, bytes.length);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        long epoch = 0;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            epoch = Long.parseLong(s.substring(0, colon));
            s = s.substring(colon + 1);
        }
        int dash = s.lastIndexOf('-');
        return new DebianVersion(epoch, dash >= 0 ? s.substring(0, dash) : s, dash >= 0 ? s.substring(dash + 1) : "");
    }

    /**
     * Why these bytes are not a version, or null when they are one. Works on bytes so the Packages
     * parser checks ~70,000 versions without making a string of each.
     */
    static String problem(byte[] b, int from, int to) {
        if (from == to) {
            return "empty version";
        }
        int colon = from;
        while (colon < to && b[colon] != ':') {
            colon++;
        }
        int rest = from;
        if (colon < to) {
            if (colon == from || colon - from > 18) {
                return "bad epoch in version '" + text(b, from, to) + "'";
            }
            for (int i = from; i < colon; i++) {
                if (b[i] < '0' || b[i] > '9') {
                    return "bad epoch in version '" + text(b, from, to) + "'";
                }
            }
            rest = colon + 1;
        }
        int dash = to - 1;
        while (dash >= rest && b[dash] != '-') {
            dash--;
        }
        if ((dash >= rest ? dash : to) == rest) {
            return "empty upstream version in '" + text(b, from, to) + "'";
        }
        for (int i = rest; i < to; i++) {
            int c = b[i];
            boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || c == '.' || c == '+' || c == '~' || c == '-' || c == ':';
            if (!ok) {
                String t = text(b, from, to);
                int at = new String(b, from, i - from, StandardCharsets.UTF_8).length();
                return "invalid character '" + t.charAt(Math.min(at, t.length() - 1)) + "' in version '" + t + "'";
            }
        }
        return null;
    }

    private static String text(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.UTF_8);
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
