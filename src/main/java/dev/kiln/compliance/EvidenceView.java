package dev.kiln.compliance;

import java.util.List;
import java.util.Optional;

/**
 * A build's signature and evidence as the console, the checklist and the export see them: whether the
 * image is signed (and with which key), and its documents (SBOMs, provenance, rebuild record) with
 * whether each is attached to the image as a signed attestation. One port, so the signing records
 * ({@code dev.kiln.sign}, the {@code evidence} table) plug in without the pages changing; until then
 * {@link UnsignedEvidence} reports every build unsigned with the documents generated for it.
 */
public interface EvidenceView {

    Status status(long build);

    /** The document of {@code kind}, byte for byte as generated (and signed, when it is attached). */
    Optional<Document> document(long build, Kind kind);

    /**
     * The build's Sigstore bundles as attached (its signature and each attestation), byte for byte: what
     * checks the signature offline after the image is gone. None for an unsigned build.
     */
    default List<Bundle> bundles(long build) {
        return List.of();
    }

    /** One bundle: {@code name} is the document kind it attests, or {@code signature}. */
    record Bundle(String name, String predicateType, String digest, byte[] bytes) {
        public Bundle {
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }
    }

    enum Kind {
        SPDX("spdx", "SPDX 2.3 SBOM"), CYCLONEDX("cyclonedx", "CycloneDX 1.6 SBOM"), PROVENANCE("provenance", "SLSA Provenance v1"),
        REBUILD_RECORD("rebuild-record", "Kiln rebuild record");

        private final String id;
        private final String title;

        Kind(String id, String title) {
            this.id = id;
            this.title = title;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String id() {
            return id;
        }

        public String title() {
            return title;
        }

        public static Optional<Kind> of(String id) {
            return java.util.Arrays.stream(values()).filter(k -> k.id.equals(id)).findFirst();
        }
    }

    /** A document's facts without its bytes: {@code sha256} is over the document itself. */
    record Listed(Kind kind, String predicateType, String sha256, long size, boolean attached) {
    }

    record Document(Listed listed, byte[] json) {
        public Document {
            json = json.clone();
        }

        @Override
        public byte[] json() {
            return json.clone();
        }
    }

    /**
     * @param signed    the image's signature was made and checked on the target
     * @param keyId     the signing key's id, or null
     * @param documents the documents the build has, attached or not
     * @param summary   one sentence for people
     */
    record Status(boolean signed, String keyId, List<Listed> documents, String summary) {
        public Status {
            documents = List.copyOf(documents);
        }

        public boolean has(Kind kind) {
            return documents.stream().anyMatch(d -> d.kind() == kind);
        }

        public boolean attached(Kind kind) {
            return documents.stream().anyMatch(d -> d.kind() == kind && d.attached());
        }
    }
}
