package dev.kiln.console;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How the pages write times, ages, sizes and digests; the templates call it as {@code #views} ... through the model. */
public final class Views {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT).withZone(ZoneOffset.UTC);

    public String time(Instant t) {
        return t == null ? "" : TIME.format(t);
    }

    public String now() {
        return time(Instant.now());
    }

    public String iso(Instant t) {
        return t == null ? "" : t.toString();
    }

    /** "3 h 12 min", "4 d 2 h", "42 s". */
    public String age(Instant t) {
        return t == null ? "" : span(Duration.between(t, Instant.now()).getSeconds());
    }

    public String span(Long seconds) {
        if (seconds == null) {
            return "";
        }
        long s = Math.max(0, seconds);
        if (s < 120) {
            return s + " s";
        }
        if (s < 7200) {
            return s / 60 + " min";
        }
        if (s < 3 * 86400) {
            return s / 3600 + " h " + (s % 3600) / 60 + " min";
        }
        return s / 86400 + " d " + (s % 86400) / 3600 + " h";
    }

    public String span(Double seconds) {
        return seconds == null ? "" : span(Math.round(seconds));
    }

    public String duration(Instant from, Instant to) {
        if (from == null || to == null) {
            return "";
        }
        return String.format(Locale.ROOT, "%.1f s", Duration.between(from, to).toMillis() / 1000.0);
    }

    public String bytes(Long n) {
        if (n == null) {
            return "";
        }
        if (n < 1024) {
            return n + " B";
        }
        if (n < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
    }

    /** {@code sha256:1a2b3c4d5e6f}: enough to tell digests apart on a page; the full one is in its title. */
    public String shortDigest(String digest) {
        if (digest == null) {
            return "";
        }
        int colon = digest.indexOf(':');
        return digest.length() > colon + 13 ? digest.substring(0, colon + 13) : digest;
    }
}
