package dev.kiln.sign;

import java.security.PublicKey;

/**
 * The key Kiln signs images and attestations with: an ECDSA P-256 key, held in a file or in a KMS. Only
 * the public half ever leaves it; {@link #sign} returns what cosign and sigstore-go verify (an ASN.1 DER
 * ECDSA signature over the SHA-256 of the message).
 */
public interface SigningKey {

    /** Where the key lives, for messages ("file /etc/kiln/cosign.key", "awskms:///alias/kiln"); never key material. */
    String description();

    /** The public key (EC, P-256). */
    PublicKey publicKey();

    /** An ECDSA P-256 signature in ASN.1 DER over SHA-256 of {@code message}. Throws {@link SignException} when the key cannot sign. */
    byte[] sign(byte[] message);

    /** How builds record the key: {@code sha256:HEX} of its public key's DER (SubjectPublicKeyInfo) encoding. */
    default String id() {
        return Keys.id(publicKey());
    }
}
