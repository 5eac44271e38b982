package dev.kiln.security;

import java.util.Optional;

/**
 * Text that came from a client: checked before it is stored, escaped before it is logged. Refused are
 * control characters (NUL included: PostgreSQL cannot store it, and in a log line a CR or LF forges
 * another line) and the bidirectional overrides and isolates, which make a reason or a name read
 * differently on screen than it is stored.
 */
public final class UntrustedText {

    private UntrustedText() {
    }

    /** Why {@code value} may not be stored as a field of at most {@code max} characters; empty when it may. */
    public static Optional<String> refusal(String value, int max) {
        if (value.length() > max && (value.length() > 2L * max || value.codePointCount(0, value.length()) > max)) {
            return Optional.of("is longer than " + max + " characters (" + value.codePointCount(0, value.length()) + ")");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) || bidiControl(c)) {
                return Optional.of(String.format("contains the control character U+%04X at position %d", (int) c, i));
            }
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return Optional.of("is not valid Unicode (a lone surrogate at position " + i + ")");
            }
        }
        return Optional.empty();
    }

    /** {@code value} for a log line: at most {@code max} characters, control characters escaped, quoted. */
    public static String forLog(String value, int max) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("'");
        value.codePoints().limit(max).forEach(cp -> {
            if (Character.isISOControl(cp) || cp <= 0xFFFF && bidiControl((char) cp) || cp == '\'' || cp == '\\') {
                out.append(cp == '\'' ? "\\'" : cp == '\\' ? "\\\\" : String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        if (value.codePointCount(0, value.length()) > max) {
            out.append("…");
        }
        return out.append('\'').toString();
    }

    private static boolean bidiControl(char c) {
        return c >= '\u202A' && c <= '\u202E' || c >= '\u2066' && c <= '\u2069' || c == '\u200E' || c == '\u200F' || c == '\u061C';
    }
}
