package dev.kiln.sign;

import java.security.PublicKey;
import java.util.function.Supplier;

/**
 * A configured key loaded when it is first needed, so a service starts while its key is unreachable
 * (KMS down, a secret not mounted yet) and each build that needs it fails saying why until it loads.
 * Once loaded it is kept.
 */
public final class LazySigningKey implements SigningKey {

    private final String description;
    private final Supplier<SigningKey> loader;
    private volatile SigningKey key;

    public LazySigningKey(String description, Supplier<SigningKey> loader) {
        this.description = description;
        this.loader = loader;
    }

    private SigningKey key() {
        SigningKey k = key;
        if (k == null) {
            synchronized (this) {
                if (key == null) {
                    SigningKey loaded = loader.get();
                    loaded.publicKey();
                    key = loaded;
                }
                k = key;
            }
        }
        return k;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public PublicKey publicKey() {
        return key().publicKey();
    }

    @Override
    public byte[] sign(byte[] message) {
        return key().sign(message);
    }
}
