package dev.kiln.debian;

import java.util.regex.Pattern;

/**
 * The grammars a name from an archive, a package or a lock must match before Kiln uses it in a URL or
 * anywhere near a path. Everything from the network is data: these say what shape that data may have,
 * so a name can never climb out of a directory ({@code ..}), start at the root, or carry a separator
 * or a control character.
 */
public final class Names {

    /** A path segment: starts with a letter or digit, so never {@code .}, {@code ..} or empty. */
    private static final String SEGMENT = "[A-Za-z0-9][A-Za-z0-9._+~@=-]*";
    /** An index path of a Release ({@code main/binary-amd64/Packages.xz}, {@code main/dep11/icons-64x64@2.tar.gz}). */
    private static final Pattern INDEX_PATH = Pattern.compile(SEGMENT + "(?:/" + SEGMENT + ")*");
    /** A pool file of a Packages stanza: segments may hold {@code %} and {@code :} too (epochs, escaped names). */
    private static final Pattern POOL_PATH = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+~%:-]*(?:/[A-Za-z0-9][A-Za-z0-9._+~%:-]*)*");
    /** Debian Policy 5.6.1: lower-case letters, digits, '+', '-', '.'; at least two characters, starting alphanumeric. */
    private static final Pattern PACKAGE = Pattern.compile("[a-z0-9][a-z0-9+.-]+");
    private static final Pattern ARCHITECTURE = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** A suite or component as a stack names it ({@code trixie}, {@code trixie-security}, {@code updates/main}). */
    private static final Pattern SUITE = INDEX_PATH;

    private Names() {
    }

    public static boolean isIndexPath(String s) {
        return s != null && INDEX_PATH.matcher(s).matches();
    }

    /**
     * A pool path whose segments stay segments once a server decodes them: {@code %2e%2e} is {@code ..} to
     * the mirror that answers (and {@code %2f} a separator), so an escape must be two hex digits and may
     * not stand for a dot, a separator, {@code %} or a control character.
     */
    public static boolean isPoolPath(String s) {
        if (s == null || !POOL_PATH.matcher(s).matches()) {
            return false;
        }
        for (int i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
            if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0 || Character.digit(s.charAt(i + 2), 16) < 0) {
                return false;
            }
            int c = Integer.parseInt(s.substring(i + 1, i + 3), 16);
            if (c < 0x20 || c >= 0x7f || c == '.' || c == '/' || c == '\\' || c == '%') {
                return false;
            }
        }
        return true;
    }

    public static boolean isPackage(String s) {
        return s != null && PACKAGE.matcher(s).matches();
    }

    public static boolean isArchitecture(String s) {
        return s != null && ARCHITECTURE.matcher(s).matches();
    }

    /** Lower-case hex of exactly 64 digits. */
    public static boolean isSha256(String s) {
        return s != null && SHA256.matcher(s).matches();
    }

    /** A suite or component name: segments that each start with a letter or digit, joined by '/'. */
    public static boolean isSuite(String s) {
        return s != null && SUITE.matcher(s).matches();
    }

    /** The text quoted for a message: control characters shown as escapes, long values cut. */
    public static String quote(String s) {
        StringBuilder out = new StringBuilder("'");
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append(s.length() > 200 ? "...'" : "'").toString();
    }
}
