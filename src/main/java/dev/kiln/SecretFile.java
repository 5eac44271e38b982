package dev.kiln;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/** A generated secret Kiln keeps for itself (database and API passwords): created once, mode 600. */
public final class SecretFile {

    private SecretFile() {
    }

    /** The secret in {@code file}; a new random one of {@code bytes} bytes (hex) when there is none. */
    public static String readOrCreate(Path file, int bytes) {
        try {
            if (Files.exists(file)) {
                return Files.readString(file).strip();
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            byte[] random = new byte[bytes];
            new SecureRandom().nextBytes(random);
            String secret = HexFormat.of().formatHex(random);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, secret + "\n");
            return secret;
        } catch (IOException e) {
            throw new UncheckedIOException("secret file " + file + ": " + e.getMessage(), e);
        }
    }
}
