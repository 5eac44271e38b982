package dev.kiln.compliance;

import dev.kiln.history.History;
import dev.kiln.publish.Digests;
import dev.kiln.sign.Claim;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

/**
 * The evidence view from the signing records ({@code dev.kiln.sign}): a build is signed when its history
 * says so ({@code build.signed}: signed, attached and read back and checked on the target before it was
 * approved) and holds its signature's bundle; each document it attested is served as the predicate inside
 * its Sigstore bundle, byte for byte, its SHA-256 checked against the digest recorded when it was signed.
 * Documents a build did not attest (every document of an unsigned build) come from those generated and
 * kept with it ({@link UnsignedEvidence}), marked not attached.
 */
public final class SignedEvidence implements EvidenceView {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final History history;
    private final UnsignedEvidence generated;

    public SignedEvidence(History history, UnsignedEvidence generated) {
        this.history = history;
        this.generated = generated;
    }

    /** An attested document: the predicate's exact bytes, or why they could not be taken out of the bundle. */
    private record Attested(Kind kind, History.Evidence evidence, byte[] predicate, String problem) {
    }

    @Override
    public Status status(long build) {
        Optional<History.Build> b = history.build(build);
        List<History.Evidence> evidence = history.evidence(build);
        Map<Kind, Attested> attested = attested(evidence);
        Status kept = generated.status(build);
        List<Listed> documents = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            Attested a = attested.get(kind);
            if (a != null && a.problem() == null) {
                documents.add(new Listed(kind, a.evidence().predicateType(), a.evidence().predicateDigest(), a.predicate().length, true));
            } else {
                kept.documents().stream().filter(d -> d.kind() == kind).findFirst().ifPresent(documents::add);
            }
        }
        Optional<History.Evidence> signature = evidence.stream().filter(e -> Claim.COSIGN_SIGN.equals(e.predicateType())).findFirst();
        boolean signed = b.map(History.Build::signed).orElse(false) && signature.isPresent();
        List<String> problems = attested.values().stream().filter(a -> a.problem() != null).map(Attested::problem).toList();
        String summary;
        if (signed) {
            List<String> kinds = attested.values().stream().filter(a -> a.problem() == null).map(a -> a.kind().title()).toList();
            summary = "signed with key " + b.get().signingKeyId() + ", read back and checked on " + b.get().target() + " before approval; "
                    + (kinds.isEmpty() ? "no attestation attached" : kinds.size() + " attestations attached (" + String.join(", ", kinds) + ")")
                    + (problems.isEmpty() ? "" : "; " + String.join("; ", problems));
        } else if (b.map(History.Build::signed).orElse(false)) {
            summary = "not signed: the build is recorded signed but no signature bundle was kept";
        } else {
            summary = "not signed: build " + build + " recorded no signature (no kiln.signing.key when it ran)"
                    + (kept.documents().isEmpty() ? "" : "; " + kept.documents().size() + " documents generated and kept with the build, not attached");
        }
        return new Status(signed, signed ? b.get().signingKeyId() : null, documents, summary);
    }

    @Override
    public Optional<Document> document(long build, Kind kind) {
        Attested a = attested(history.evidence(build)).get(kind);
        if (a != null && a.problem() == null) {
            return Optional.of(new Document(new Listed(kind, a.evidence().predicateType(), a.evidence().predicateDigest(), a.predicate().length,
                    true), a.predicate()));
        }
        return generated.document(build, kind);
    }

    @Override
    public List<Bundle> bundles(long build) {
        return history.evidence(build).stream().map(e -> new Bundle(Claim.COSIGN_SIGN.equals(e.predicateType()) ? "signature"
                : kind(e.predicateType()).map(Kind::id).orElse(null), e.predicateType(), e.bundleDigest(), e.bundle()))
                .filter(b -> b.name() != null).toList();
    }

    /** The newest attestation of each document kind, its predicate taken out of the bundle and checked. */
    private static Map<Kind, Attested> attested(List<History.Evidence> evidence) {
        Map<Kind, Attested> byKind = new LinkedHashMap<>();
        for (History.Evidence e : evidence) {
            kind(e.predicateType()).ifPresent(kind -> byKind.put(kind, open(kind, e)));
        }
        return byKind;
    }

    private static Attested open(Kind kind, History.Evidence e) {
        try {
            byte[] predicate = predicate(statement(e.bundle()));
            String digest = Digests.sha256(predicate);
            if (!digest.equals(e.predicateDigest())) {
                return new Attested(kind, e, null, kind.title() + ": the predicate in bundle " + e.bundleDigest() + " has " + digest
                        + ", not the " + e.predicateDigest() + " recorded when it was signed");
            }
            return new Attested(kind, e, predicate, null);
        } catch (JacksonException | IllegalArgumentException | IllegalStateException ex) {
            return new Attested(kind, e, null, kind.title() + ": bundle " + e.bundleDigest() + " cannot be read (" + ex.getMessage() + ")");
        }
    }

    static Optional<Kind> kind(String predicateType) {
        return switch (predicateType) {
            case dev.kiln.evidence.EvidenceFactory.SPDX -> Optional.of(Kind.SPDX);
            case dev.kiln.evidence.EvidenceFactory.CYCLONEDX -> Optional.of(Kind.CYCLONEDX);
            case dev.kiln.evidence.EvidenceFactory.SLSA_PROVENANCE -> Optional.of(Kind.PROVENANCE);
            case dev.kiln.evidence.EvidenceFactory.REBUILD_RECORD -> Optional.of(Kind.REBUILD_RECORD);
            default -> Optional.empty();
        };
    }

    /** The in-toto statement a bundle's DSSE envelope carries, as signed. */
    static byte[] statement(byte[] bundle) {
        String payload = JSON.readTree(bundle).path("dsseEnvelope").path("payload").asString("");
        if (payload.isEmpty()) {
            throw new IllegalStateException("no DSSE envelope payload");
        }
        return Base64.getDecoder().decode(payload);
    }

    /** The statement's top-level {@code predicate} exactly as its bytes appear there (its digest is over these bytes). */
    static byte[] predicate(byte[] statement) {
        try (JsonParser parser = JSON.createParser(statement)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalStateException("the statement is not a JSON object");
            }
            while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                if (name.equals("predicate")) {
                    int start = (int) parser.currentTokenLocation().getByteOffset();
                    parser.skipChildren();
                    int end = (int) parser.currentLocation().getByteOffset();
                    if (value != JsonToken.START_OBJECT || start < 0 || end <= start) {
                        throw new IllegalStateException("the statement's predicate is not an object");
                    }
                    return java.util.Arrays.copyOfRange(statement, start, end);
                }
                parser.skipChildren();
            }
            throw new IllegalStateException("the statement has no predicate");
        }
    }
}
