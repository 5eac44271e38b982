package dev.kiln.sign;

/**
 * What an attestation says about an image: the predicate of an in-toto statement whose subject is the
 * image. {@code cosignType} is what {@code cosign verify-attestation --type} takes for it
 * ({@code slsaprovenance1}, {@code spdxjson}, {@code cyclonedx}, or the predicate type's URI).
 *
 * @param json the predicate, a JSON object
 */
public record Claim(String predicateType, String cosignType, byte[] json) {

    /** The predicate type of a plain signature, as {@code cosign sign} (v3) makes it: a statement with an empty predicate. */
    public static final String COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1";

    public Claim {
        json = json.clone();
    }

    @Override
    public byte[] json() {
        return json.clone();
    }

    /** The signature itself: the image digest as subject, nothing claimed beyond it. */
    public static Claim signature() {
        return new Claim(COSIGN_SIGN, COSIGN_SIGN, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    public boolean isSignature() {
        return predicateType.equals(COSIGN_SIGN);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Claim c && c.predicateType.equals(predicateType) && c.cosignType.equals(cosignType)
                && java.util.Arrays.equals(c.json, json);
    }

    @Override
    public int hashCode() {
        return predicateType.hashCode() * 31 + java.util.Arrays.hashCode(json);
    }

    @Override
    public String toString() {
        return predicateType + " (" + json.length + " bytes)";
    }
}
