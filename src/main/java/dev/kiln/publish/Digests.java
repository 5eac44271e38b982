package dev.kiln.publish;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** SHA-256 content digests in OCI's {@code sha256:HEX} form. */
public final class Digests {

    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");

    private Digests() {
    }

    public static String sha256(byte[] bytes) {
        return "sha256:" + HexFormat.of().formatHex(newSha256().digest(bytes));
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static boolean valid(String digest) {
        return digest != null && SHA256.matcher(digest).matches();
    }

    /**
     * A digest that came from outside (a registry, a file) before it names a file or a URL: only
     * {@code sha256:} and 64 lower-case hex digits, so it can never be a path.
     */
    public static String check(String digest) {
        if (!valid(digest)) {
            throw new IllegalArgumentException("not a sha256 digest: '" + digest + "'");
        }
        return digest;
    }
}
