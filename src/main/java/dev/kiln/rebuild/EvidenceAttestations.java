package dev.kiln.rebuild;

import dev.kiln.evidence.BuildFacts;
import dev.kiln.evidence.EvidenceFactory;
import dev.kiln.sign.Claim;
import java.util.List;

/**
 * A build's attestations from dev.kiln.evidence: SLSA provenance, the SPDX and CycloneDX SBOMs and the
 * rebuild record, made from what the pipeline knows once the image is assembled and its tag chosen.
 */
public final class EvidenceAttestations implements Attestations {

    /** Starts loading the SBOM libraries (seconds in a fresh JVM) so that the first build does not wait for all of it. */
    public EvidenceAttestations() {
        EvidenceFactory.prepareInBackground();
    }

    @Override
    public List<Claim> claims(Facts facts) {
        BuildFacts.Previous previous = facts.previous() == null && facts.previousLock() == null ? null
                : new BuildFacts.Previous(facts.previous() == null ? null : facts.previous().build(),
                facts.previous() == null ? null : facts.previous().digest(), facts.previous() == null ? null : facts.previous().reference(),
                facts.previousLock());
        // the repository as pulled (HOST/REPOSITORY on a registry), as the statements' subject names it
        BuildFacts build = new BuildFacts(facts.stack(), facts.catalogCommit(), facts.catalogSource(), facts.lock(), facts.composition(),
                facts.subject(), facts.imageDigest(), facts.tag(), facts.kilnVersion(), facts.instance(), facts.buildSettings(), facts.build(),
                facts.trigger(), facts.who(), facts.startedAt(), facts.finishedAt(), previous, null);
        return EvidenceFactory.predicates(build).stream().map(p -> new Claim(p.predicateType(), p.cosignType(), p.json())).toList();
    }
}
