package dev.kiln.sign;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
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
 * <p>
 * Predicates (an SBOM listing every file of an image) run to hundreds of kilobytes, so they are checked
 * with a streaming parser and placed into the statement as they are, never parsed into a tree and
 * written again; reading a statement back skips over its predicate until someone asks for it.
 */
public final class SigstoreBundle {

    /** The bundle's media type, which is also its OCI artifact type and layer media type. */
    public static final String MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
    static final String STATEMENT_V1 = "https://in-toto.io/Statement/v1";
    static final String STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private SigstoreBundle() {
    }

    /** A statement's bytes, as signed, and the SHA-256 of its predicate as it appears there. */
    record Made(byte[] bytes, String predicateDigest) {
    }

    /**
     * The in-toto v1 statement about {@code digest} (an image manifest's) named {@code name} with
     * {@code claim}'s predicate. As cosign v3 makes them: a signature's subject has no name and carries the
     * annotations (cosign's {@code -a}, here Kiln's facts), an attestation's subject is named after the
     * image's repository ({@code HOST/REPOSITORY}).
     */
    static Made statement(String name, String digest, Claim claim, Map<String, String> annotations) {
        byte[] predicate = claim.json();
        requireObject(claim.predicateType(), predicate);
        ObjectNode subject = JsonNodeFactory.instance.objectNode();
        if (!claim.isSignature()) {
            subject.put("name", name);
        }
        subject.putObject("digest").put("sha256", digest.substring("sha256:".length()));
        if (claim.isSignature()) {
            ObjectNode a = subject.putObject("annotations");
            new TreeMap<>(annotations).forEach(a::put);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(predicate.length + 512);
        out.writeBytes(("{\"_type\":\"" + STATEMENT_V1 + "\",\"subject\":[").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(JSON.writeValueAsBytes(subject));
        out.writeBytes(("],\"predicateType\":" + JSON.writeValueAsString(claim.predicateType()) + ",\"predicate\":").getBytes(StandardCharsets.UTF_8));
        out.writeBytes(predicate);
        out.write('}');
        return new Made(out.toByteArray(), dev.kiln.publish.Digests.sha256(predicate));
    }

    /** One JSON object and nothing after it, checked without building a tree. */
    private static void requireObject(String type, byte[] json) {
        try (JsonParser parser = JSON.createParser(json)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new SignException(type + ": the predicate is not a JSON object");
            }
            parser.skipChildren();
            if (parser.nextToken() != null) {
                throw new SignException(type + ": the predicate has more after its JSON object");
            }
        } catch (JacksonException e) {
            throw new SignException(type + ": the predicate is not JSON (" + e.getOriginalMessage() + ")", e);
        }
    }

    /**
     * Signs {@code statement} with {@code key} and wraps it as a bundle, its fields in the order cosign
     * writes them. Base64 and the fixed strings need no JSON escaping, so it is written as text.
     */
    static byte[] sign(byte[] statement, SigningKey key) {
        byte[] pae = Dsse.pae(Dsse.IN_TOTO, statement);
        byte[] signature = key.sign(pae);
        Base64.Encoder base64 = Base64.getEncoder();
        String payload = base64.encodeToString(statement);
        return ("{\"mediaType\":\"" + MEDIA_TYPE + "\",\"verificationMaterial\":{\"publicKey\":{\"hint\":\"" + hint(key.publicKey())
                + "\"}},\"dsseEnvelope\":{\"payload\":\"" + payload + "\",\"payloadType\":\"" + Dsse.IN_TOTO + "\",\"signatures\":[{\"sig\":\""
                + base64.encodeToString(signature) + "\"}]}}").getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A statement whose signature verified: its predicate type, the digests it is about, the annotations
     * of its subjects (string values) and the payload as signed; the predicate is read from it when asked for.
     */
    public record Statement(String predicateType, List<String> subjects, Map<String, String> annotations, byte[] payload) {
        public Statement {
            subjects = List.copyOf(subjects);
            annotations = Map.copyOf(annotations);
            payload = payload.clone();
        }

        @Override
        public byte[] payload() {
            return payload.clone();
        }

        /** The predicate, parsed from the payload now. */
        public JsonNode predicate() {
            return JSON.readTree(payload).path("predicate");
        }
    }

    /**
     * Checks a bundle as sigstore-go does for a key and no log: a v0.3 bundle with a DSSE envelope of an
     * in-toto statement, one signature, made by {@code key} over the envelope's PAE. The statement is
     * returned; whether it is about the right image is the caller's question.
     */
    static Statement open(byte[] bundle, PublicKey key) {
        Envelope envelope = envelope(bundle);
        if (!Dsse.IN_TOTO.equals(envelope.payloadType())) {
            throw new SignException("the envelope's payload type is '" + envelope.payloadType() + "', not " + Dsse.IN_TOTO);
        }
        if (envelope.signatures().size() != 1) {
            throw new SignException("the envelope holds " + envelope.signatures().size() + " signatures; a bundle carries exactly one");
        }
        byte[] payload;
        byte[] signature;
        try {
            payload = Base64.getDecoder().decode(envelope.payload());
            signature = Base64.getDecoder().decode(envelope.signatures().get(0));
        } catch (IllegalArgumentException e) {
            throw new SignException("the envelope's payload or signature is not base64");
        }
        if (!Keys.verify(key, Dsse.pae(Dsse.IN_TOTO, payload), signature)) {
            throw new SignException("the signature does not verify with key " + Keys.id(key));
        }
        return statement(payload);
    }

    private record Envelope(String mediaType, String hint, String payload, String payloadType, List<String> signatures) {
    }

    /** The bundle's fields Kiln reads, with a streaming parser (its payload is most of it). */
    private static Envelope envelope(byte[] bundle) {
        String mediaType = null;
        String hint = "";
        String payload = null;
        String payloadType = null;
        List<String> signatures = new ArrayList<>();
        boolean envelope = false;
        try (JsonParser p = JSON.createParser(bundle)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new SignException("not a JSON object");
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "mediaType" -> mediaType = p.getValueAsString();
                    case "verificationMaterial" -> {
                        JsonNode material = p.readValueAsTree();
                        hint = material.path("publicKey").path("hint").asString("");
                    }
                    case "dsseEnvelope" -> {
                        envelope = true;
                        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                            String name = p.currentName();
                            p.nextToken();
                            switch (name) {
                                case "payload" -> payload = p.getValueAsString();
                                case "payloadType" -> payloadType = p.getValueAsString();
                                case "signatures" -> ((JsonNode) p.readValueAsTree()).forEach(s -> signatures.add(s.path("sig").asString("")));
                                default -> p.skipChildren();
                            }
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        } catch (JacksonException e) {
            throw new SignException("not JSON (" + e.getOriginalMessage() + ")");
        }
        if (!MEDIA_TYPE.equals(mediaType) && !"application/vnd.dev.sigstore.bundle+json;version=0.3".equals(mediaType)) {
            throw new SignException("not a Sigstore bundle v0.3 (mediaType '" + mediaType + "')");
        }
        if (!envelope || payload == null) {
            throw new SignException("the bundle holds no DSSE envelope");
        }
        return new Envelope(mediaType, hint, payload, payloadType, signatures);
    }

    /** The statement's type, subjects and predicate type, read without building its predicate. */
    private static Statement statement(byte[] payload) {
        String type = null;
        String predicateType = "";
        List<String> subjects = new ArrayList<>();
        Map<String, String> annotations = new TreeMap<>();
        try (JsonParser p = JSON.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new SignException("the signed payload is not a JSON object");
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "_type" -> type = p.getValueAsString();
                    case "predicateType" -> predicateType = p.getValueAsString("");
                    case "subject" -> ((JsonNode) p.readValueAsTree()).forEach(s -> {
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
                    default -> p.skipChildren();
                }
            }
        } catch (JacksonException e) {
            throw new SignException("the signed payload is not JSON");
        }
        // cosign attest still writes v0.1 statements; both are in-toto statements with the same fields
        if (!STATEMENT_V1.equals(type) && !STATEMENT_V01.equals(type)) {
            throw new SignException("the signed payload is not an in-toto statement (_type '" + type + "')");
        }
        return new Statement(predicateType, subjects, annotations, payload);
    }

    /**
     * The statement inside a bundle, not verified: for showing evidence Kiln recorded after verifying it
     * (the API serves the SBOMs of a build this way). Anything taken from a target goes through {@link #open}.
     */
    public static JsonNode recordedStatement(byte[] bundle) {
        try {
            return JSON.readTree(Base64.getDecoder().decode(envelope(bundle).payload()));
        } catch (JacksonException | IllegalArgumentException e) {
            throw new SignException("not a Sigstore bundle with a DSSE envelope: " + e.getMessage());
        }
    }

    /** A key's hint as bundles carry it: base64 of SHA-256 over its DER SubjectPublicKeyInfo. */
    static String hint(PublicKey key) {
        return Base64.getEncoder().encodeToString(Keys.sha256(key.getEncoded()));
    }

    /** The key hint a bundle names (empty when it names none or is not a bundle); it says who claims to have signed, nothing more. */
    static String hint(byte[] bundle) {
        try {
            return envelope(bundle).hint();
        } catch (SignException e) {
            return "";
        }
    }
}
