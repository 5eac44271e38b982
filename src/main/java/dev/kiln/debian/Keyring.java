package dev.kiln.debian;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;

/** The OpenPGP public keys an archive's InRelease must be signed by: binary ({@code .gpg}) or armored. */
public final class Keyring {

    private final Path path;
    private final PGPPublicKeyRingCollection keys;

    private Keyring(Path path, PGPPublicKeyRingCollection keys) {
        this.path = path;
        this.keys = keys;
    }

    public static Keyring load(Path path) {
        try (InputStream in = PGPUtil.getDecoderStream(Files.newInputStream(path))) {
            PGPPublicKeyRingCollection keys = new PGPPublicKeyRingCollection(in, new BcKeyFingerprintCalculator());
            if (keys.size() == 0) {
                throw new DebianException("keyring " + path + " holds no public key");
            }
            return new Keyring(path, keys);
        } catch (NoSuchFileException e) {
            throw new DebianException("keyring " + path + " does not exist");
        } catch (IOException | PGPException e) {
            throw new DebianException("keyring " + path + " is not an OpenPGP public keyring: " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    /** The key (primary or subkey) with this id, or null. */
    PGPPublicKey key(long keyId) {
        return keys.getPublicKey(keyId);
    }

    /** Why a key may not be trusted at {@code now}, or null when it may. */
    static String unusable(PGPPublicKey key, Instant now) {
        if (key.hasRevocation()) {
            return "is revoked";
        }
        long valid = key.getValidSeconds();
        if (valid > 0 && key.getCreationTime().toInstant().plusSeconds(valid).isBefore(now)) {
            return "expired on " + key.getCreationTime().toInstant().plusSeconds(valid);
        }
        return null;
    }
}
