package dev.kiln.sign;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;

/** An ECDSA P-256 private key in a PKCS#8 PEM file, plain or password-encrypted, read once. */
public final class FileSigningKey implements SigningKey {

    private static final long MAX_KEY_FILE = 64 << 10;

    private final Path file;
    private final KeyPair pair;

    private FileSigningKey(Path file, KeyPair pair) {
        this.file = file;
        this.pair = pair;
    }

    /** Reads {@code file}; {@code password} is needed only for an encrypted key (it is not kept). */
    public static FileSigningKey load(Path file, char[] password) {
        String source = "kiln.signing.key " + file;
        try {
            if (!Files.isRegularFile(file)) {
                throw new SignException(source + ": no such file");
            }
            if (Files.size(file) > MAX_KEY_FILE) {
                throw new SignException(source + ": larger than " + MAX_KEY_FILE + " bytes; not a key file");
            }
            return new FileSigningKey(file, Keys.keyPair(Files.readString(file, StandardCharsets.US_ASCII), password, source));
        } catch (IOException e) {
            throw new SignException(source + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public String description() {
        return "file " + file;
    }

    @Override
    public PublicKey publicKey() {
        return pair.getPublic();
    }

    @Override
    public byte[] sign(byte[] message) {
        return Keys.sign(pair.getPrivate(), message);
    }
}
