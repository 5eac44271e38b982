package dev.kiln.rebuild;

import dev.kiln.history.History;
import dev.kiln.publish.Descriptor;
import dev.kiln.publish.ImageTarget;
import dev.kiln.publish.PublishException;
import dev.kiln.sign.Claim;
import dev.kiln.sign.EvidenceVerifier;
import dev.kiln.sign.SignException;
import dev.kiln.sign.Signer;
import dev.kiln.sign.SigningKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The pipeline's evidence steps: sign a build's attestations and signature before its image is tagged,
 * and afterwards read everything back from the target and check it against the image digest and the
 * key before the build may count as approved. Without a key it does nothing and builds are recorded
 * unsigned; with one, any failure fails the build.
 */
public final class Attester {

    private final Signer signer;
    private final Attestations attestations;
    private final EvidenceVerifier verifier = new EvidenceVerifier();

    private Attester(Signer signer, Attestations attestations) {
        this.signer = signer;
        this.attestations = attestations;
    }

    /** Signs with {@code signer}, attesting what {@code attestations} makes of each build. */
    public static Attester signing(Signer signer, Attestations attestations) {
        return new Attester(signer, attestations);
    }

    /** No key configured: nothing is signed or attested. */
    public static Attester unsigned() {
        return new Attester(null, Attestations.NONE);
    }

    public Optional<SigningKey> key() {
        return Optional.ofNullable(signer).map(Signer::key);
    }

    /** Signs the build's attestations and its signature; nothing is pushed. A key that cannot sign fails the build here. */
    List<Signer.Signed> sign(Attestations.Facts facts, Descriptor image) {
        if (signer == null) {
            return List.of();
        }
        List<Claim> claims = attestations.claims(facts);
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(Signer.STACK, facts.stack().name());
        annotations.put(Signer.BUILD, Long.toString(facts.build()));
        annotations.put(Signer.TAG, facts.tag());
        annotations.put(Signer.KILN_VERSION, facts.kilnVersion());
        try {
            return signer.sign(facts.subject(), image, claims, annotations);
        } catch (SignException e) {
            throw new BuildException("signing failed, nothing published: " + e.getMessage());
        }
    }

    /** Signs one more claim about a published image (a reproduction record). */
    Signer.Signed attest(String subject, Descriptor image, Claim claim) {
        return signer.attestation(subject, image, claim);
    }

    /**
     * The post-push check: the tag names the image, and the target holds a signature by the key and every
     * attestation this build attached, each about this digest and unaltered. Returns what to record.
     */
    History.Signing check(ImageTarget target, String repository, String digest, String tag, List<Signer.Signed> attached) {
        SigningKey key = signer.key();
        List<String> problems = new ArrayList<>();
        EvidenceVerifier.Report report;
        try {
            Optional<String> named = target.tagged(repository, tag);
            if (named.isEmpty() || !named.get().equals(digest)) {
                problems.add(target.reference(repository, tag) + " names " + named.orElse("nothing") + ", not the image built (" + digest + ")");
            }
            report = verifier.verify(target, repository, digest, key.publicKey());
        } catch (PublishException | SignException e) {
            throw new BuildException("reading the evidence back from " + target.name() + " failed: " + e.getMessage());
        }
        problems.addAll(report.problems());
        for (Signer.Signed s : attached) {
            if (!report.bundleDigests().contains(s.bundleDigest())) {
                problems.add("the " + (s.claim().isSignature() ? "signature" : s.predicateType() + " attestation") + " this build attached ("
                        + s.bundleDigest() + ") is not on the target as attached");
            }
        }
        if (!problems.isEmpty()) {
            throw new BuildException("evidence check failed after the push, not approved: " + String.join("; ", problems));
        }
        return new History.Signing(key.id(), attached.stream().map(s -> new History.Evidence(s.predicateType(), s.claim().cosignType(),
                s.artifact().digest(), s.bundleDigest(), s.predicateDigest(), key.id(), s.bundle())).toList());
    }
}
