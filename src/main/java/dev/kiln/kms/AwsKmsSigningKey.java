package dev.kiln.kms;

import dev.kiln.sign.Keys;
import dev.kiln.sign.SignException;
import dev.kiln.sign.SigningKey;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GetPublicKeyResponse;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.MessageType;
import software.amazon.awssdk.services.kms.model.SigningAlgorithmSpec;

/**
 * An ECC_NIST_P256 key in AWS KMS, named as cosign names it: {@code awskms://[ENDPOINT]/KEY} where KEY
 * is {@code alias/NAME}, a key id or a key ARN. The private key never leaves KMS: Kiln sends what it
 * signs to the Sign API and reads the public key once with GetPublicKey. KMS takes a message of up to
 * 4096 bytes as it is (RAW) and hashes it itself; anything larger (an SBOM statement) goes as its SHA-256
 * (DIGEST), which is the same signature. Credentials and, unless set, the region come from the AWS
 * SDK's default chains.
 */
public final class AwsKmsSigningKey implements SigningKey {

    static final String SCHEME = "awskms://";
    static final int MAX_RAW = 4096;

    private final KmsClient client;
    private final String reference;
    private final String keyId;
    private volatile PublicKey publicKey;

    AwsKmsSigningKey(KmsClient client, String reference, String keyId) {
        this.client = client;
        this.reference = reference;
        this.keyId = keyId;
    }

    public static boolean names(String reference) {
        return reference != null && reference.startsWith(SCHEME);
    }

    /**
     * The key {@code reference} names; {@code region} and {@code endpoint} (null: the SDK's chain, and the
     * reference's own endpoint if it has one, over HTTPS) override where KMS is reached.
     */
    public static AwsKmsSigningKey of(String reference, String region, String endpoint) {
        String rest = reference.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        if (slash < 0 || slash == rest.length() - 1) {
            throw new SignException("kiln.signing.key '" + reference + "': expected awskms:///alias/NAME, awskms:///KEY-ID or awskms:///ARN");
        }
        String authority = rest.substring(0, slash);
        String keyId = rest.substring(slash + 1);
        var builder = KmsClient.builder();
        String arnRegion = keyId.startsWith("arn:") && keyId.split(":").length > 3 ? keyId.split(":")[3] : null;
        if (region != null || arnRegion != null) {
            builder.region(Region.of(region != null ? region : arnRegion));
        }
        if (endpoint != null) {
            builder.endpointOverride(URI.create(endpoint));
        } else if (!authority.isEmpty()) {
            builder.endpointOverride(URI.create("https://" + authority));
        }
        try {
            return new AwsKmsSigningKey(builder.build(), reference, keyId);
        } catch (SdkException e) {
            throw new SignException("kiln.signing.key " + reference + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String description() {
        return reference;
    }

    /** The key's public half, read once from KMS and checked to be a P-256 signing key. */
    @Override
    public PublicKey publicKey() {
        PublicKey key = publicKey;
        if (key == null) {
            synchronized (this) {
                if (publicKey == null) {
                    publicKey = fetchPublicKey();
                }
                key = publicKey;
            }
        }
        return key;
    }

    private PublicKey fetchPublicKey() {
        GetPublicKeyResponse response;
        try {
            response = client.getPublicKey(r -> r.keyId(keyId));
        } catch (SdkException e) {
            throw new SignException(reference + ": KMS GetPublicKey failed: " + e.getMessage(), e);
        }
        // KMS answers KeySpec and its deprecated twin CustomerMasterKeySpec; some emulators only the latter
        String spec = response.keySpecAsString() != null ? response.keySpecAsString() : response.customerMasterKeySpecAsString();
        if (!KeySpec.ECC_NIST_P256.toString().equals(spec) || response.keyUsage() != KeyUsageType.SIGN_VERIFY
                || !response.signingAlgorithms().contains(SigningAlgorithmSpec.ECDSA_SHA_256)) {
            throw new SignException(reference + ": a " + spec + " key for " + response.keyUsageAsString()
                    + "; Kiln signs with an ECC_NIST_P256 SIGN_VERIFY key (ECDSA_SHA_256)");
        }
        try {
            PublicKey key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(response.publicKey().asByteArray()));
            if (!(key instanceof ECPublicKey)) {
                throw new SignException(reference + ": KMS returned a public key that is not EC");
            }
            return key;
        } catch (GeneralSecurityException e) {
            throw new SignException(reference + ": KMS returned an unreadable public key (" + e.getMessage() + ")", e);
        }
    }

    /** Signs through KMS and checks the answer with the public key: what comes over the network is checked before Kiln attaches it. */
    @Override
    public byte[] sign(byte[] message) {
        boolean raw = message.length <= MAX_RAW;
        byte[] sent = raw ? message : sha256(message);
        byte[] signature;
        try {
            signature = client.sign(r -> r.keyId(keyId).signingAlgorithm(SigningAlgorithmSpec.ECDSA_SHA_256)
                    .messageType(raw ? MessageType.RAW : MessageType.DIGEST).message(SdkBytes.fromByteArray(sent))).signature().asByteArray();
        } catch (SdkException e) {
            throw new SignException(reference + ": KMS Sign failed: " + e.getMessage(), e);
        }
        if (!Keys.verify(publicKey(), message, signature)) {
            throw new SignException(reference + ": KMS returned a signature (" + (raw ? "RAW" : "DIGEST") + " message) that its public key does not verify");
        }
        return signature;
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
