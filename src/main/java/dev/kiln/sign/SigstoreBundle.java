package dev.kiln.sign;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A Sigstore bundle v0.3 (protobuf-specs {@code dev.sigstore.bundle.v1.Bundle} in its JSON form) holding
 * an in-toto statement in a DSSE envelope, as cosign v3 writes one when it signs or attests with a key
 * and no transparency log: the verification material is the key's hint (base64 SHA-256 of its DER), the
 * content the envelope. cosign and sigstore-go verify it offline with the public key
 * ({@code --insecure-ignore-tlog}).
 */
public final class SigstoreBundle {

    /** The bundle's media type, which is also its OCI artifact type and layer media type. */
    public static final String MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
    static final String STATEMENT_V1 = "https://in-toto.io/Statement/v1";
    static final String STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private SigstoreBundle() {
    }

    /** A statement's bytes, as signed, and the SHA-256 of its predicate's JSON as it appears there. */
    record Made(byte[] bytes, String predicateDigest) {
    }

    /**
     * The in-toto v1 statement about {@code digest} (an image manifest's) named {@code name} with
     * {@code claim}'s predicate. As cosign v3 makes them: a signature's subject has no name and carries the
     * annotations (cosign's {@code -a}, here Kiln's facts), an attestation's subject is named after the
     * image's repository ({@code HOST/REPOSITORY}).
     */
    static Made statement(String name, String digest, Claim claim, java.util.Map<String, String> annotations) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("_type", STATEMENT_V1);
        ObjectNode subject = root.putArray("subject").addObject();
        if (!claim.isSignature()) {
            subject.put("name", name);
        }
        subject.putObject("digest").put("sha256", digest.substring("sha256:".length()));
        if (claim.isSignature()) {
            ObjectNode a = subject.putObject("annotations");
            annotations.forEach(a::put);
        }
        root.put("predicateType", claim.predicateType());
        JsonNode predicate;
        try {
            predicate = JSON.readTree(claim.json());
        } catch (JacksonException e) {
            throw new SignException(claim.predicateType() + ": the predicate is not JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (!predicate.isObject()) {
            throw new SignException(claim.predicateType() + ": the predicate is not a JSON object");
        }
        root.set("predicate", predicate);
        return new Made(JSON.writeValueAsBytes(root), dev.kiln.publish.Digests.sha256(JSON.writeValueAsBytes(predicate)));
    }

    /** Signs {@code statement} with {@code key} and wraps it as a bundle; the signature is checked before it is returned. */
    static byte[] sign(byte[] statement, SigningKey key) {
        byte[] pae = Dsse.pae(Dsse.IN_TOTO, statement);
        byte[] signature = key.sign(pae);
        if (!Keys.verify(key.publicKey(), pae, signature)) {
            throw new SignException(key.description() + ": made a signature its own public key does not verify");
        }
        String hint = hint(key.publicKey());
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("mediaType", MEDIA_TYPE);
        root.putObject("verificationMaterial").putObject("publicKey").put("hint", hint);
        ObjectNode envelope = root.putObject("dsseEnvelope");
        envelope.put("payload", Base64.getEncoder().encodeToString(statement));
        envelope.put("payloadType", Dsse.IN_TOTO);
        envelope.putArray("signatures").addObject().put("sig", Base64.getEncoder().encodeToString(signature));
        return JSON.writeValueAsBytes(root);
    }

    /**
     * A statement whose signature verified: its predicate type, the digests it is about, the annotations
     * of its subjects (string values), its predicate and the payload as signed.
     */
    public record Statement(String predicateType, List<String> subjects, java.util.Map<String, String> annotations, JsonNode predicate,
                            byte[] payload) {
        public Statement {
            subjects = List.copyOf(subjects);
            annotations = java.util.Map.copyOf(annotations);
            payload = payload.clone();
        }

        @Override
        public byte[] payload() {
            return payload.clone();
        }
    }

    /**
     * Checks a bundle as sigstore-go does for a key and no log: a v0.3 bundle with a DSSE envelope of an
     * in-toto statement, one signature, made by {@code key} over the envelope's PAE. The statement is
     * returned; whether it is about the right image is the caller's question.
     */
    static Statement open(byte[] bundle, PublicKey key) {
        JsonNode root;
        try {
            root = JSON.readTree(bundle);
        } catch (JacksonException e) {
            throw new SignException("not JSON (" + e.getOriginalMessage() + ")");
        }
        if (!MEDIA_TYPE.equals(root.path("mediaType").asString(""))
                && !"application/vnd.dev.sigstore.bundle+json;version=0.3".equals(root.path("mediaType").asString(""))) {
            throw new SignException("not a Sigstore bundle v0.3 (mediaType '" + root.path("mediaType").asString("") + "')");
        }
        JsonNode envelope = root.path("dsseEnvelope");
        if (!envelope.isObject()) {
            throw new SignException("the bundle holds no DSSE envelope");
        }
        if (!Dsse.IN_TOTO.equals(envelope.path("payloadType").asString(""))) {
            throw new SignException("the envelope's payload type is '" + envelope.path("payloadType").asString("") + "', not " + Dsse.IN_TOTO);
        }
        if (envelope.path("signatures").size() != 1) {
            throw new SignException("the envelope holds " + envelope.path("signatures").size() + " signatures; a bundle carries exactly one");
        }
        byte[] payload;
        byte[] signature;
        try {
            payload = Base64.getDecoder().decode(envelope.path("payload").asString(""));
            signature = Base64.getDecoder().decode(envelope.path("signatures").get(0).path("sig").asString(""));
        } catch (IllegalArgumentException e) {
            throw new SignException("the envelope's payload or signature is not base64");
        }
        if (!Keys.verify(key, Dsse.pae(Dsse.IN_TOTO, payload), signature)) {
            throw new SignException("the signature does not verify with key " + Keys.id(key));
        }
        JsonNode statement;
        try {
            statement = JSON.readTree(payload);
        } catch (JacksonException e) {
            throw new SignException("the signed payload is not JSON");
        }
        // cosign attest still writes v0.1 statements; both are in-toto statements with the same fields
        if (!STATEMENT_V1.equals(statement.path("_type").asString("")) && !STATEMENT_V01.equals(statement.path("_type").asString(""))) {
            throw new SignException("the signed payload is not an in-toto statement (_type '" + statement.path("_type").asString("") + "')");
        }
        List<String> subjects = new ArrayList<>();
        java.util.Map<String, String> annotations = new java.util.TreeMap<>();
        statement.path("subject").forEach(s -> {
            String hex = s.path("digest").path("sha256").asString("");
            if (!hex.isEmpty()) {
                subjects.add("sha256:" + hex);
            }
            s.path("annotations").properties().forEach(e -> {
                if (e.getValue().isString()) {
                    annotations.put(e.getKey(), e.getValue().asString());
                }
            });
        });
        return new Statement(statement.path("predicateType").asString(""), subjects, annotations, statement.path("predicate"), payload);
    }

    /**
     * The statement inside a bundle, not verified: for showing evidence Kiln recorded after verifying it
     * (the API serves the SBOMs of a build this way). Anything taken from a target goes through {@link #open}.
     */
    public static JsonNode recordedStatement(byte[] bundle) {
        try {
            return JSON.readTree(Base64.getDecoder().decode(JSON.readTree(bundle).path("dsseEnvelope").path("payload").asString("")));
        } catch (JacksonException | IllegalArgumentException e) {
            throw new SignException("not a Sigstore bundle with a DSSE envelope: " + e.getMessage());
        }
    }

    /** A key's hint as bundles carry it: base64 of SHA-256 over its DER SubjectPublicKeyInfo. */
    static String hint(PublicKey key) {
        return Base64.getEncoder().encodeToString(Keys.sha256(key.getEncoded()));
    }

    /** The key hint a bundle names (empty when it names none or is not JSON); it says who claims to have signed, nothing more. */
    static String hint(byte[] bundle) {
        try {
            return JSON.readTree(bundle).path("verificationMaterial").path("publicKey").path("hint").asString("");
        } catch (JacksonException e) {
            return "";
        }
    }
}
