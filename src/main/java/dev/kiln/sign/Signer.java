package dev.kiln.sign;

import dev.kiln.publish.Blob;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.Manifest;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Signs an image and its attestations the way cosign v3 does with a key: each claim becomes an in-toto
 * statement about the image digest, signed in a DSSE envelope inside a Sigstore bundle v0.3, and each
 * bundle an OCI 1.1 artifact manifest whose subject is the image (artifactType and layer media type the
 * bundle's, annotations {@code dev.sigstore.bundle.content}, {@code dev.sigstore.bundle.predicateType}
 * and {@code org.opencontainers.image.created}). Everything is signed in memory, before anything is
 * pushed: a key that cannot sign stops the build before the image reaches the target.
 * <p>
 * The signature's statement carries, as cosign's {@code -a} annotations do, the stack, build, tag and
 * the list of the attestations made with it (predicate type and bundle digest), so a missing attestation
 * is evident from the signed signature alone.
 */
public final class Signer {

    /** Subject annotations of the signature statement. */
    public static final String STACK = "dev.kiln.stack";
    public static final String BUILD = "dev.kiln.build";
    public static final String TAG = "dev.kiln.tag";
    public static final String KILN_VERSION = "dev.kiln.version";
    public static final String ATTESTATIONS = "dev.kiln.attestations";
    static final String CONTENT = "dev.sigstore.bundle.content";
    static final String PREDICATE_TYPE = "dev.sigstore.bundle.predicateType";
    static final String CREATED = "org.opencontainers.image.created";

    private final SigningKey key;
    private final Clock clock;

    public Signer(SigningKey key, Clock clock) {
        this.key = key;
        this.clock = clock;
    }

    public SigningKey key() {
        return key;
    }

    /**
     * One signed claim, ready to attach: the artifact manifest (with the bundle as its layer), the bundle's
     * digest, and the digest of the predicate as signed.
     */
    public record Signed(Claim claim, Manifest artifact, String bundleDigest, String predicateDigest, byte[] bundle) {
        public Signed {
            bundle = bundle.clone();
        }

        @Override
        public byte[] bundle() {
            return bundle.clone();
        }

        public String predicateType() {
            return claim.predicateType();
        }
    }

    /**
     * Signs {@code claims} about {@code image} (whose repository is {@code name}: {@code HOST/REPOSITORY}
     * where it is pulled from a registry), then the signature listing them with {@code facts} (stack,
     * build, tag, Kiln version). The signature comes last in the list.
     */
    public List<Signed> sign(String name, Descriptor image, List<Claim> claims, Map<String, String> facts) {
        List<Signed> out = new ArrayList<>();
        for (Claim claim : claims) {
            if (claim.isSignature()) {
                throw new IllegalArgumentException("the signature is made by sign(), not passed as a claim");
            }
            out.add(signed(image, claim, SigstoreBundle.statement(name, image.digest(), claim, Map.of())));
        }
        Map<String, String> annotations = new TreeMap<>(facts);
        annotations.put(ATTESTATIONS, out.stream().map(s -> s.predicateType() + "@" + s.bundleDigest()).collect(Collectors.joining(" ")));
        Claim signature = Claim.signature();
        out.add(signed(image, signature, SigstoreBundle.statement(name, image.digest(), signature, annotations)));
        return out;
    }

    /** Signs one more claim about an image already signed (a reproduction record, say). */
    public Signed attestation(String name, Descriptor image, Claim claim) {
        return signed(image, claim, SigstoreBundle.statement(name, image.digest(), claim, Map.of()));
    }

    private Signed signed(Descriptor image, Claim claim, SigstoreBundle.Made statement) {
        byte[] bundle = SigstoreBundle.sign(statement.bytes(), key);
        Blob layer = Blob.of(SigstoreBundle.MEDIA_TYPE, bundle);
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(CREATED, DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.SECONDS)));
        annotations.put(CONTENT, "dsse-envelope");
        annotations.put(PREDICATE_TYPE, claim.predicateType());
        Manifest artifact = Manifest.artifact(SigstoreBundle.MEDIA_TYPE, List.of(layer), image, annotations);
        return new Signed(claim, artifact, layer.digest(), statement.predicateDigest(), bundle);
    }
}
