package dev.kiln.compliance;

import dev.kiln.history.BuildRecords;
import java.util.List;
import java.util.Optional;

/**
 * The evidence view while Kiln does not sign: every build is unsigned, and its documents are those
 * generated for it and kept in the history ({@code build_document}), none attached to the image. The
 * signing records replace the status and add the attached attestations (see docs/console.md).
 */
public final class UnsignedEvidence implements EvidenceView {

    private final BuildRecords records;

    public UnsignedEvidence(BuildRecords records) {
        this.records = records;
    }

    @Override
    public Status status(long build) {
        List<Listed> documents = records.documents(build).stream()
                .flatMap(d -> Kind.of(d.kind()).map(k -> new Listed(k, d.predicateType(), d.sha256(), d.size(), false)).stream())
                .toList();
        return new Status(false, null, documents, "not signed: this Kiln has no signing key"
                + (documents.isEmpty() ? "" : "; " + documents.size() + " documents generated and kept with the build, not attached"));
    }

    @Override
    public Optional<Document> document(long build, Kind kind) {
        return records.documents(build).stream().filter(d -> d.kind().equals(kind.id())).findFirst()
                .flatMap(d -> records.content(build, kind.id())
                        .map(bytes -> new Document(new Listed(kind, d.predicateType(), d.sha256(), d.size(), false), bytes)));
    }
}
